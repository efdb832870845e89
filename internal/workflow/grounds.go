package workflow

import "slices"

// Ground is a reason the requested authority may give for refusing. Refusal
// must give reasons (UNTOC Art. 18(23)); which grounds exist depends on the
// kind of request.
type Ground struct {
	Code      string `json:"code"`
	Label     string `json:"label"`
	AppliesTo []Kind `json:"applies_to"`
}

var both = []Kind{KindMLA, KindExtradition}

// Grounds is the code list of refusal grounds. Bank secrecy is deliberately
// absent: UNTOC Art. 18(8) forbids refusing assistance on that ground.
var Grounds = []Ground{
	{"dual_criminality", "The act is not an offence in the requested state (dual criminality)", both},
	{"political_offence", "Political offence, or connected with one", both},
	{"military_offence", "Purely military offence", []Kind{KindExtradition}},
	{"fiscal_offence", "Fiscal offence", []Kind{KindExtradition}},
	{"nationality", "The person is a national of the requested state", []Kind{KindExtradition}},
	{"ne_bis_in_idem", "Already tried for the same acts (ne bis in idem)", both},
	{"lapse_of_time", "Time-barred (lapse of time)", []Kind{KindExtradition}},
	{"death_penalty", "Death penalty without sufficient assurances", []Kind{KindExtradition}},
	{"discrimination", "Aims at persecution on discriminatory grounds", both},
	{"sovereignty_security_public_order", "Sovereignty, security or public order (ordre public)", both},
	{"essential_interests", "Other essential interests of the requested state", []Kind{KindMLA}},
	{"insufficient_information", "The request does not comply with the requirements", both},
	{"immunity_privilege", "Immunity or privilege in the requested state", []Kind{KindMLA}},
	// The grounds that some instruments admit beyond the first list
	// (docs/API.md, "Instruments"); which instrument admits which is data
	// (config/instruments.yaml).
	{"not_available_domestically", "The measure would not be authorised in a similar domestic case", []Kind{KindMLA}},
	{"territoriality", "Committed outside the issuing state and in the executing state, where it is no offence", []Kind{KindMLA}},
	{"fundamental_rights", "Execution would be incompatible with fundamental rights", both},
	{"offence_threshold", "The measure is restricted to offences of a list, category or penalty the offence is not of", []Kind{KindMLA}},
	{"torture_inhuman_treatment", "A real risk of torture or inhuman or degrading treatment", both},
	{"trial_in_absentia", "Decision rendered in absentia without the required guarantees", []Kind{KindExtradition}},
	{"amnesty", "Covered by an amnesty in the requested state", []Kind{KindExtradition}},
	{"minority", "Below the age of criminal responsibility in the requested state", []Kind{KindExtradition}},
	{"pending_proceedings", "The requested state prosecutes the same acts", []Kind{KindExtradition}},
	{"place_of_commission", "Committed in the requested state's territory", []Kind{KindExtradition}},
	{"resident_serving_sentence", "A national or resident who will serve the sentence in the requested state", []Kind{KindExtradition}},
}

// GroundApplies reports whether code is a refusal ground for kind k, and
// whether it exists at all.
func GroundApplies(code string, k Kind) (applies, known bool) {
	for _, g := range Grounds {
		if g.Code == code {
			return slices.Contains(g.AppliesTo, k), true
		}
	}
	return false, false
}

// GroundsFor lists the grounds that apply to kind k.
func GroundsFor(k Kind) []Ground {
	var out []Ground
	for _, g := range Grounds {
		if slices.Contains(g.AppliesTo, k) {
			out = append(out, g)
		}
	}
	return out
}

// Measure is a kind of assistance an MLA request may seek.
type Measure struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// Measures is the code list of measures sought in MLA requests.
var Measures = []Measure{
	{"take_evidence", "Taking evidence (witnesses, victims, experts, suspects)"},
	{"video_hearing", "Hearing by videoconference"},
	{"service_of_documents", "Service of documents"},
	{"search_and_seizure", "Search and seizure"},
	{"freezing", "Freezing of assets or evidence"},
	{"confiscation", "Confiscation"},
	{"bank_records", "Bank records (accounts, transactions)"},
	{"monitoring_bank_operations", "Monitoring of bank operations"},
	{"records", "Government, corporate or business records"},
	{"examine_objects_sites", "Examining objects and sites"},
	{"identify_persons", "Identifying persons (including telephone or IP subscribers)"},
	{"trace_proceeds", "Tracing proceeds of crime"},
	{"electronic_evidence", "Electronic evidence (preservation, stored data, traffic data)"},
	{"interception", "Interception of telecommunications"},
	{"covert_investigation", "Covert investigation"},
	{"temporary_transfer_detained", "Temporary transfer of detained persons"},
	{"criminal_records", "Criminal records"},
	{"joint_investigation_team", "Joint investigation team"},
	{"return_of_objects", "Return of objects"},
	{"other", "Other"},
}

func knownMeasure(code string) bool {
	for _, m := range Measures {
		if m.Code == code {
			return true
		}
	}
	return false
}
