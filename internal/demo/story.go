package demo

import (
	"fmt"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The story of the demo cases: one trafficking-in-persons network, as the
// four demo authorities would meet it in their casework. Every name,
// company, number and reference in it is invented.
//
// Young women are recruited in Edo State (Nigeria) with promises of work as
// hairdressers and carers, bound by an oath and a "debt" of about 30,000
// euros, and taken through Niger and Libya to Italy; others are recruited
// in Udon Thani (Thailand) with promises of work in spas, and flown to
// Madrid on visas obtained with forged sponsorship letters of a Bangkok
// travel agency. They are exploited in apartments in Turin and in
// massage parlours in Madrid. The proceeds go through money transfer
// agencies in Turin and Madrid to accounts in Lagos and Bangkok, and into
// gold. Italy (the Turin prosecutors' "Operation Harmattan") and Spain (an
// investigating court of Madrid) investigate the network; Nigeria and
// Thailand investigate its recruiters.
//
// The moments are chosen so that, read at the seeding's now, the cases
// stand in every state of the workflow and their deadlines in every
// status: EIO and EAW time limits met, missed, overdue and running, one of
// each extended, the dates the requesting authorities need the assistance
// by met, missed, overdue, running (some of them stopped while the
// requested side waits) and stopped by the end of the request.

// The demo users who act in the story.
const (
	itOfficer, itSupervisor = "it.officer", "it.supervisor"
	esOfficer, esSupervisor = "es.officer", "es.supervisor"
	ngOfficer, ngSupervisor = "ng.officer", "ng.supervisor"
	thOfficer, thSupervisor = "th.officer", "th.supervisor"
)

// The offences, worded as the EU list of 32 offences words them (EAW Art.
// 2(2); EIO Annex D).
const (
	trafficking  = "trafficking in human beings"
	organisation = "participation in a criminal organisation"
	laundering   = "laundering of the proceeds of crime"
	facilitation = "facilitation of unauthorised entry and residence"
	forgery      = "forgery of administrative documents"
)

// untocMLABasis is the legal basis of the requests between the European
// authorities and Nigeria or Thailand: the Palermo Protocol supplements
// UNTOC, so its Art. 18 applies to trafficking in persons.
const untocMLABasis = "UNTOC Art. 18 and the Protocol to Prevent, Suppress and Punish Trafficking in Persons, " +
	"to which both states are parties"

// The people of the story, as persons concerned; each case gives them the
// role they play in it.
var (
	eweka = workflow.PersonConcerned{
		Name: "Osarodion Eweka", Aliases: []string{"Baba Rodi", "Rodney Eweks"}, DateOfBirth: "1978-03-14",
		Nationality: "Nigerian", Location: "Madrid, Spain (left Turin after the first arrests)",
	}
	aigbe = workflow.PersonConcerned{
		Name: "Grace Aigbe", Aliases: []string{"Madam Grace", "Mama Turin"}, DateOfBirth: "1983-09-02",
		Nationality: "Nigerian", Location: "Turin, Italy (in pre-trial detention)",
	}
	obasuyi = workflow.PersonConcerned{
		Name: "Kingsley Obasuyi", Aliases: []string{"Pastor K", "Native Doctor Kings"}, DateOfBirth: "1971-11-25",
		Nationality: "Nigerian", Location: "Benin City, Edo State, Nigeria",
	}
	saetang = workflow.PersonConcerned{
		Name: "Wanpen Saetang", Aliases: []string{"Jay Pen", "Pen Madrid"}, DateOfBirth: "1980-06-18",
		Nationality: "Thai", Location: "Udon Thani, Thailand",
	}
	boonmee = workflow.PersonConcerned{
		Name: "Prasert Boonmee", Aliases: []string{"Sia Ped"}, DateOfBirth: "1969-01-30",
		Nationality: "Thai", Location: "Bangkok, Thailand",
	}
	salvatierra = workflow.PersonConcerned{
		Name: "Rubén Salvatierra Ortega", Aliases: []string{"El Notario"}, DateOfBirth: "1975-05-07",
		Nationality: "Spanish", Location: "Madrid, Spain",
	}
	carretta = workflow.PersonConcerned{
		Name: "Fabrizio Carretta", Aliases: []string{"il Ragioniere"}, DateOfBirth: "1966-08-21",
		Nationality: "Italian", Location: "Turin, Italy",
	}
	ogbeide = workflow.PersonConcerned{
		Name: "Friday Ogbeide", Aliases: []string{"Oga Friday"}, DateOfBirth: "1982-07-04",
		Nationality: "Nigerian", Location: "Benin City, Edo State, Nigeria (in custody)",
	}
	uwaifo = workflow.PersonConcerned{
		Name: "Osahon Uwaifo", DateOfBirth: "1977-12-01",
		Nationality: "Nigerian", Location: "Benin City, Edo State, Nigeria (in custody; ran the travel agency)",
	}
	osayande = workflow.PersonConcerned{
		Name: "Collins Osayande", Aliases: []string{"Driver Collins"}, DateOfBirth: "1986-02-09",
		Nationality: "Nigerian", Location: "Turin, Italy (serving his sentence)",
	}
	// The victims and the witness at risk are protected (Palermo Protocol
	// Art. 6): only those who work a case see who they are.
	idahosa = workflow.PersonConcerned{
		Name: "Osasere Idahosa", DateOfBirth: "2001-02-11", Nationality: "Nigerian",
		Location: "Piedmont, Italy (protection programme)", Protected: true,
	}
	ekhator = workflow.PersonConcerned{
		Name: "Ivie Ekhator", DateOfBirth: "1999-07-23", Nationality: "Nigerian",
		Location: "Madrid, Spain (shelter)", Protected: true,
	}
	phromma = workflow.PersonConcerned{
		Name: "Kanokwan Phromma", DateOfBirth: "1996-04-03", Nationality: "Thai",
		Location: "Madrid, Spain (shelter)", Protected: true,
	}
	sriwong = workflow.PersonConcerned{
		Name: "Duangjai Sriwong", DateOfBirth: "1993-12-19", Nationality: "Thai",
		Location: "Udon Thani, Thailand (returned home)", Protected: true,
	}
	nwosu = workflow.PersonConcerned{
		Name: "Chiamaka Nwosu", DateOfBirth: "1990-10-05", Nationality: "Nigerian",
		Location: "Turin, Italy (protection programme)", Protected: true,
	}
	idahosaMother = workflow.PersonConcerned{
		Name: "Efe Idahosa", DateOfBirth: "1968-05-30", Nationality: "Nigerian",
		Location: "Benin City, Edo State, Nigeria", Protected: true,
	}
	prieto = workflow.PersonConcerned{
		Name: "Alejandro Prieto Vidal", DateOfBirth: "1988-01-17", Nationality: "Spanish",
		Location: "Madrid, Spain",
	}
	ravizza = workflow.PersonConcerned{
		Name: "Paola Ravizza", DateOfBirth: "1974-09-12", Nationality: "Italian",
		Location: "Turin, Italy (forensic accountant appointed by the prosecutor)",
	}
)

// as is p in role.
func as(p workflow.PersonConcerned, role workflow.PersonRole) workflow.PersonConcerned {
	p.Role = role
	return p
}

// sought is p as the person an extradition request seeks.
func sought(p workflow.PersonConcerned, description string) *workflow.Person {
	return &workflow.Person{
		Name: p.Name, Aliases: p.Aliases, DateOfBirth: p.DateOfBirth, Nationality: p.Nationality,
		Description: description, Location: p.Location,
	}
}

// story is the demo cases on timeline t, in the order they were opened.
func story(t timeline) []demoCase {
	y := t.year(200) // the year the investigations began
	harmattan := fmt.Sprintf("Public Prosecutor's Office at the Court of Turin, District Anti-Mafia Directorate, "+
		"proceedings no. 11873/%d R.G.N.R. (Operation Harmattan)", y)
	madrid := fmt.Sprintf("Investigating Court No. 12 of Madrid, preliminary proceedings 2291/%d", y)
	naptip := fmt.Sprintf("National Agency for the Prohibition of Trafficking in Persons (NAPTIP), Benin City zonal command, "+
		"investigation NAPTIP/INV/ED/%d/046", y)
	ref := func(format string, days int) string { return fmt.Sprintf(format, t.year(days)) }

	return []demoCase{
		{
			// IT → ES, EIO, executed: every time limit met.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "ES", Instrument: "eio",
				Title: "Bank records of Iberia Wellness Spa S.L. and two money transfer agencies in Madrid",
				Summary: harmattan + ". For at least three years an organised group led by Osarodion Eweka has " +
					"recruited young women in Edo State, Nigeria, bound them by an oath and a debt of about 30,000 euros, " +
					"and exploited them in apartments in Turin. Part of the proceeds was paid in cash to two money transfer " +
					"agencies in Madrid and to accounts of Iberia Wellness Spa S.L., administered by Rubén Salvatierra " +
					"Ortega, and sent on to accounts in Lagos and Bangkok.",
				LegalBasis: "Directive 2014/41/EU; Legislative Decree no. 108/2017 (Italy); Law 23/2014 (Spain)",
				Offences:   []string{trafficking, organisation, laundering},
				Measures:   []string{"bank_records", "trace_proceeds"},
				Purpose: "To trace the proceeds of the exploitation from Turin to their recipients, and to prove " +
					"the laundering charge against the organisers.",
			},
			moves: []move{
				draftedBy(t.ago(176, 9, 10), itOfficer),
				edit(t.ago(175, 11, 40), itOfficer, workflow.Changes{Persons: &[]workflow.PersonConcerned{
					as(eweka, workflow.PersonSuspect), as(salvatierra, workflow.PersonSuspect),
					as(carretta, workflow.PersonSuspect), as(ravizza, workflow.PersonExpert),
				}}),
				send(t.ago(174, 15, 30), itSupervisor),
				acknowledge(t.ago(171, 10, 5), esOfficer, ref("SGCJI/OEI/%d/0318", 171)),
				execute(t.ago(103, 12, 0), esSupervisor, "The records of the accounts of Iberia Wellness Spa S.L. at two "+
					"banks and the transfer records of both agencies for the period requested were obtained by order of the "+
					"investigating judge and are transmitted in 14 annexes, with the banks' certificates. Bank secrecy "+
					"was not invoked (UNTOC Art. 18(8))."),
			},
		},
		{
			// IT → NG, UNTOC, postponed while Nigeria's own investigation
			// was covert, resumed, executed after the date Italy needed it by.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "NG", Instrument: "untoc", LegalBasis: untocMLABasis,
				Title: "Statements of victims' families in Edo State and records of the recruiters' travel agent",
				Summary: harmattan + ". The victims were recruited in and around Benin City by Kingsley Obasuyi, " +
					"who made them swear an oath before they left, and their journey was arranged by a travel agent in " +
					"Benin City. Their families were threatened when the victims stopped paying. Collins Osayande, who " +
					"drove the victims from Sicily to Turin, has been convicted in Italy.",
				Offences: []string{trafficking, organisation, facilitation},
				Measures: []string{"take_evidence", "records", "identify_persons"},
				Purpose: "To prove the recruitment, the oath and the threats against the families, and to identify " +
					"the recruiters, for the trial in Turin.",
				DueDate: t.date(-60),
				Persons: []workflow.PersonConcerned{
					as(obasuyi, workflow.PersonSuspect), as(osayande, workflow.PersonSentenced),
					as(idahosa, workflow.PersonVictim), as(idahosaMother, workflow.PersonWitness),
				},
			},
			moves: []move{
				draftedBy(t.ago(165, 10, 0), itOfficer),
				send(t.ago(163, 16, 10), itSupervisor),
				acknowledge(t.ago(150, 9, 45), ngOfficer, ref("FMOJ/CA/MLA/IT/%d/017", 150)),
				postpone(t.ago(130, 14, 20), ngSupervisor, "Execution is postponed under UNTOC Art. 18(25): NAPTIP's own "+
					"investigation of the recruiters in Benin City is at a covert stage, and hearing the families now "+
					"would alert the suspects. We expect to resume within five weeks and will inform you."),
				resume(t.ago(95, 11, 0), ngOfficer, "NAPTIP has made its arrests in Benin City; execution resumes."),
				execute(t.ago(12, 15, 30), ngSupervisor, "Statements of four family members taken by NAPTIP "+
					"investigators with a prosecutor present; records of the travel agent seized under warrant; eleven "+
					"journeys paid through the agent identified. Transmitted with certified translations of the "+
					"statements given in Edo."),
			},
		},
		{
			// IT → ES, EAW, surrendered after an appeal and an extension.
			draft: workflow.Draft{
				Kind: workflow.KindExtradition, RequestedAuthority: "ES", Instrument: "eaw",
				Title: "European arrest warrant: Osarodion Eweka, head of the network, located in Madrid",
				Summary: harmattan + ". Osarodion Eweka directed the group from Turin: he financed the journeys, " +
					"set the victims' debts, and collected the proceeds. He left Italy after the arrest of Grace Aigbe " +
					"and is believed to be in Madrid, using the name Rodney Eweks.",
				LegalBasis: "Framework Decision 2002/584/JHA; Law no. 69/2005 (Italy); Law 23/2014 (Spain)",
				Offences:   []string{trafficking, organisation, laundering},
				Urgency:    workflow.UrgencyUrgent,
				UrgencyReason: "The person is moving between addresses in Madrid and holds a second passport; an " +
					"alert has been entered in the Schengen Information System.",
				PersonSought: sought(eweka, "About 1.80 m, heavy build, scar above the left eyebrow; speaks English, "+
					"Edo and some Italian."),
				Warrant: &workflow.Warrant{
					Type: workflow.WarrantArrest, Reference: fmt.Sprintf("11873/%d R.G.N.R. - 7702/%d R.G. GIP", y, y),
					IssuedBy: "Judge for preliminary investigations, Court of Turin", IssuedOn: t.date(-146),
				},
				Persons: []workflow.PersonConcerned{as(eweka, workflow.PersonAccused), as(idahosa, workflow.PersonVictim)},
			},
			moves: []move{
				draftedBy(t.ago(140, 8, 50), itOfficer),
				send(t.ago(139, 9, 30), itSupervisor),
				acknowledge(t.ago(133, 18, 15), esOfficer, ref("AN-JCI3/OEDE/%d/0127", 133)),
				extend(t.ago(80, 10, 0), esSupervisor, "decision", 30, "The requested person has appealed the "+
					"surrender decision to the Appeals Chamber of the Audiencia Nacional; the final decision cannot be "+
					"taken within 60 days of the arrest (EAW Art. 17(4)). Italy has been informed."),
				execute(t.ago(50, 7, 40), esSupervisor, "The Appeals Chamber upheld the surrender. The person was "+
					"surrendered to the Italian police at Madrid-Barajas airport; the time spent in custody in Spain "+
					"is certified for deduction (EAW Art. 26)."),
			},
		},
		{
			// IT → NG, UNTOC extradition, waiting for Italy's answer.
			draft: workflow.Draft{
				Kind: workflow.KindExtradition, RequestedAuthority: "NG", Instrument: "untoc",
				Title: "Extradition of Kingsley Obasuyi ('Pastor K'), recruiter of the network in Benin City",
				Summary: harmattan + ". Kingsley Obasuyi recruited at least eleven of the victims, administered " +
					"the oath that bound them to repay their debts, and received part of the proceeds through money " +
					"transfers from Turin.",
				LegalBasis: "UNTOC Art. 16, the Convention taken as the legal basis for extradition (Art. 16(4))",
				Offences:   []string{trafficking, organisation},
				DueDate:    t.date(40),
				PersonSought: sought(obasuyi, "About 1.70 m, slim, grey beard; presents himself as a pastor and "+
					"traditional healer."),
				Warrant: &workflow.Warrant{
					Type: workflow.WarrantArrest, Reference: fmt.Sprintf("11873/%d R.G.N.R. - 9120/%d R.G. GIP", y, y),
					IssuedBy: "Judge for preliminary investigations, Court of Turin", IssuedOn: t.date(-126),
				},
				Persons: []workflow.PersonConcerned{as(obasuyi, workflow.PersonAccused)},
			},
			moves: []move{
				draftedBy(t.ago(120, 9, 0), itOfficer),
				send(t.ago(118, 12, 0), itSupervisor),
				acknowledge(t.ago(104, 10, 30), ngOfficer, ref("FMOJ/CA/EXT/IT/%d/004", 104)),
				requestInfo(t.ago(20, 13, 15), ngOfficer, "Before the request is filed with the Federal High Court, "+
					"please send a certified summary of the evidence against the person sought, the text of the "+
					"Italian provisions on the penalties, and an assurance that he will not be tried for offences other "+
					"than those for which he is surrendered."),
			},
		},
		{
			// ES → TH, UNTOC extradition, refused: the person is a Thai
			// national, whom Thailand prosecutes itself.
			draft: workflow.Draft{
				Kind: workflow.KindExtradition, RequestedAuthority: "TH", Instrument: "untoc",
				Title: "Extradition of Wanpen Saetang, recruiter of the Thai victims in Udon Thani",
				Summary: madrid + ". Wanpen Saetang recruited women in Udon Thani province with offers of work in " +
					"spas in Spain, arranged their visas through Golden Lotus Travel Co., Ltd. of Bangkok, and handed " +
					"them over in Madrid to the managers of the massage parlours, where they were made to work off a " +
					"debt.",
				LegalBasis: "UNTOC Art. 16, the Convention taken as the legal basis for extradition (Art. 16(4))",
				Offences:   []string{trafficking, organisation, forgery},
				DueDate:    t.date(20),
				PersonSought: sought(saetang, "About 1.58 m, short black hair; runs a beauty shop in Udon Thani "+
					"and travelled to Madrid four times in the last two years."),
				Warrant: &workflow.Warrant{
					Type: workflow.WarrantArrest, Reference: fmt.Sprintf("DP 2291/%d - auto de prisión", y),
					IssuedBy: "Investigating Court No. 12 of Madrid", IssuedOn: t.date(-116),
				},
				Persons: []workflow.PersonConcerned{as(saetang, workflow.PersonAccused), as(phromma, workflow.PersonVictim)},
			},
			moves: []move{
				draftedBy(t.ago(110, 11, 20), esOfficer),
				send(t.ago(108, 9, 50), esSupervisor),
				acknowledge(t.ago(100, 10, 10), thOfficer, ref("OAG-IAD/EXT/%d/0031", 100)),
				refuse(t.ago(64, 14, 0), thSupervisor, "The person sought is a Thai national and is not surrendered. "+
					"Under UNTOC Art. 16(10) the Office of the Attorney General submits the case to the Thai "+
					"prosecuting authorities without undue delay, and asks Spain for the evidence gathered, which will "+
					"be requested separately.", "nationality"),
			},
		},
		{
			// ES → IT, EAW, refused: Italy prosecutes the same acts.
			draft: workflow.Draft{
				Kind: workflow.KindExtradition, RequestedAuthority: "IT", Instrument: "eaw",
				Title: "European arrest warrant: Grace Aigbe ('Madam Grace'), for prosecution in Spain",
				Summary: madrid + ". Grace Aigbe sent at least three of the Nigerian victims from Turin to Madrid, " +
					"where they were exploited in apartments rented by Iberia Wellness Spa S.L., and collected their " +
					"payments.",
				LegalBasis: "Framework Decision 2002/584/JHA; Law 23/2014 (Spain); Law no. 69/2005 (Italy)",
				Offences:   []string{trafficking, organisation},
				PersonSought: sought(aigbe, "About 1.65 m; in pre-trial detention in Turin in the Italian "+
					"proceedings."),
				Warrant: &workflow.Warrant{
					Type: workflow.WarrantArrest, Reference: fmt.Sprintf("DP 2291/%d - OEDE 4", y),
					IssuedBy: "Investigating Court No. 12 of Madrid", IssuedOn: t.date(-104),
				},
				Persons: []workflow.PersonConcerned{as(aigbe, workflow.PersonAccused), as(ekhator, workflow.PersonVictim)},
			},
			moves: []move{
				draftedBy(t.ago(100, 12, 30), esOfficer),
				send(t.ago(99, 10, 0), esSupervisor),
				acknowledge(t.ago(95, 9, 20), itOfficer, ref("DAG-II/MAE/%d/0233", 95)),
				refuse(t.ago(70, 16, 45), itSupervisor, "The Court of Appeal of Turin refused surrender: the requested "+
					"person is prosecuted in Italy for the same acts ("+harmattan+"). Italy will share the evidence "+
					"on the Madrid apartments with the Spanish court.", "pending_proceedings"),
			},
		},
		{
			// IT → TH, UNTOC, urgent: answered, then left past the date
			// Italy needed it by.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "TH", Instrument: "untoc", LegalBasis: untocMLABasis,
				Title: "Bank accounts and gold purchases of Prasert Boonmee in Bangkok; freezing of the proceeds",
				Summary: harmattan + ". Transfers from the money transfer agency of Fabrizio Carretta in Turin " +
					"reached three accounts in Bangkok held by Prasert Boonmee, director of Golden Lotus Travel Co., " +
					"Ltd., who withdrew the money in cash and bought gold.",
				Offences: []string{laundering, organisation, trafficking},
				Measures: []string{"bank_records", "trace_proceeds", "freezing"},
				Purpose: "To trace the proceeds and to freeze them for confiscation after the trial in Turin " +
					"(UNTOC Art. 13).",
				Urgency:       workflow.UrgencyUrgent,
				UrgencyReason: "The balances are being withdrawn in cash; two of the accounts were emptied last month.",
				DueDate:       t.date(-15),
				Persons:       []workflow.PersonConcerned{as(boonmee, workflow.PersonSuspect), as(carretta, workflow.PersonSuspect)},
			},
			moves: []move{
				draftedBy(t.ago(90, 8, 30), itOfficer),
				send(t.ago(88, 9, 0), itSupervisor),
				acknowledge(t.ago(75, 11, 30), thOfficer, ref("OAG-IAD/MLA/%d/0093", 75)),
				requestInfo(t.ago(60, 10, 0), thOfficer, "The Anti-Money Laundering Office needs the account numbers, "+
					"the amounts received on each, and how each transfer is linked to the offences, to seek the "+
					"freezing order."),
				provideInfo(t.ago(52, 15, 0), itOfficer, "Attached: the list of 46 transfers with dates, amounts and "+
					"the receiving accounts, and the forensic accountant's report linking them to the victims' "+
					"payments."),
			},
		},
		{
			// IT → ES, EIO: the decision extended, the acknowledgement
			// late, the search under way.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "ES", Instrument: "eio",
				Title: "Search of the offices of Iberia Wellness Spa S.L. and two apartments in Madrid",
				Summary: harmattan + ". The victims' debts were kept in ledgers and on phones of the organisers. " +
					"Witnesses say that, after the arrests in Turin, the ledgers were taken to the offices of Iberia " +
					"Wellness Spa S.L. and to two apartments in Madrid that the network rents.",
				LegalBasis: "Directive 2014/41/EU; Legislative Decree no. 108/2017 (Italy); Law 23/2014 (Spain)",
				Offences:   []string{trafficking, organisation, laundering},
				Measures:   []string{"search_and_seizure", "electronic_evidence"},
				Purpose:    "To seize the ledgers of the victims' debts and the devices of the organisers as evidence.",
				Persons: []workflow.PersonConcerned{
					as(salvatierra, workflow.PersonSuspect), as(eweka, workflow.PersonSuspect), as(prieto, workflow.PersonWitness),
				},
			},
			moves: []move{
				draftedBy(t.ago(82, 10, 0), itOfficer),
				send(t.ago(80, 16, 0), itSupervisor),
				extend(t.ago(55, 9, 30), esSupervisor, "decision", 30, "The search is to be carried out together "+
					"with measures the Madrid investigating court is ordering in its own proceedings against the same "+
					"network; the decision needs that court's coordination (EIO Art. 12(5))."),
				acknowledge(t.ago(41, 12, 0), esOfficer, ref("SGCJI/OEI/%d/0771", 41)),
				requestInfo(t.ago(33, 11, 20), esOfficer, "Please confirm the floor and door of the second apartment, "+
					"and whether Italian investigators wish to attend the search (EIO Art. 9(4))."),
				provideInfo(t.ago(27, 9, 10), itOfficer, "Second apartment: 3rd floor, door B. Two officers of the "+
					"Carabinieri of Turin wish to attend; their names are attached."),
			},
		},
		{
			// ES → TH, UNTOC, postponed by Thailand's own investigation.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "TH", Instrument: "untoc", LegalBasis: untocMLABasis,
				Title: "Records of Golden Lotus Travel Co., Ltd. and the visa sponsorship letters it issued",
				Summary: madrid + ". The Thai victims entered Spain on visas obtained with sponsorship letters " +
					"of Spanish spas that never employed them; the letters and the flights were arranged by Golden " +
					"Lotus Travel Co., Ltd. of Bangkok, whose director is Prasert Boonmee.",
				Offences: []string{trafficking, forgery, facilitation},
				Measures: []string{"records", "identify_persons", "bank_records"},
				Purpose:  "To prove how the victims' entry into Spain was arranged, and who paid for it.",
				DueDate:  t.date(60),
				Persons: []workflow.PersonConcerned{
					as(boonmee, workflow.PersonSuspect), as(saetang, workflow.PersonSuspect), as(sriwong, workflow.PersonVictim),
				},
			},
			moves: []move{
				draftedBy(t.ago(70, 9, 40), esOfficer),
				send(t.ago(69, 12, 0), esSupervisor),
				acknowledge(t.ago(60, 10, 45), thOfficer, ref("OAG-IAD/MLA/%d/0104", 60)),
				postpone(t.ago(30, 15, 10), thSupervisor, "Execution is postponed under UNTOC Art. 18(25): the "+
					"Department of Special Investigation is investigating Golden Lotus Travel Co., Ltd. and will search "+
					"its premises; the records will be provided once the search has been carried out."),
			},
		},
		{
			// ES → NG, UNTOC, withdrawn: the answer came from elsewhere.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "NG", Instrument: "untoc", LegalBasis: untocMLABasis,
				Title: "Subscribers of five telephone numbers and recipients of money transfers in Lagos",
				Summary: madrid + ". The managers of the Madrid apartments called five Nigerian numbers daily, and " +
					"sent money transfers to recipients in Lagos who are believed to be members of the network.",
				Offences: []string{trafficking, laundering},
				Measures: []string{"identify_persons", "bank_records"},
				Purpose:  "To identify the members of the network in Nigeria who received the proceeds.",
				DueDate:  t.date(30),
				Persons:  []workflow.PersonConcerned{as(eweka, workflow.PersonSuspect)},
			},
			moves: []move{
				draftedBy(t.ago(60, 14, 0), esOfficer),
				send(t.ago(58, 10, 30), esSupervisor),
				acknowledge(t.ago(45, 9, 0), ngOfficer, ref("FMOJ/CA/MLA/ES/%d/009", 45)),
				withdraw(t.ago(18, 12, 40), esSupervisor, "The assistance is no longer needed (UNTOC Art. 18(24)): "+
					"the recipients were identified from the bank records that Italy obtained in Madrid and shared "+
					"with the Madrid investigating court. Spain thanks the Federal Ministry of Justice."),
			},
		},
		{
			// NG → IT, UNTOC, executed in time.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "IT", Instrument: "untoc", LegalBasis: untocMLABasis,
				Title: "Statements of Nigerian victims in Italy for the prosecution of the recruiters in Benin City",
				Summary: naptip + ". Friday Ogbeide and Osahon Uwaifo, arrested in Benin City, are charged with recruiting and " +
					"transporting women to Italy for sexual exploitation. The victims now live in Italy under " +
					"protection.",
				Offences: []string{trafficking, organisation},
				Measures: []string{"video_hearing", "take_evidence"},
				Purpose:  "To present the victims' evidence at the trial of the recruiters before the Federal High Court.",
				DueDate:  t.date(-10),
				Persons: []workflow.PersonConcerned{
					as(ogbeide, workflow.PersonAccused), as(uwaifo, workflow.PersonAccused),
					as(idahosa, workflow.PersonVictim), as(nwosu, workflow.PersonWitness),
				},
			},
			moves: []move{
				draftedBy(t.ago(58, 11, 0), ngOfficer),
				send(t.ago(57, 9, 15), ngSupervisor),
				acknowledge(t.ago(53, 10, 20), itOfficer, ref("DAG-II/AG/%d/0518", 53)),
				execute(t.ago(16, 14, 30), itSupervisor, "Both persons were heard by videoconference from the Court of "+
					"Turin, with a psychologist present and their identities withheld from the public; the recordings "+
					"and transcripts are transmitted."),
			},
		},
		{
			// ES → IT, EIO, in progress: Italy asks what the monitoring
			// is to cover.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "IT", Instrument: "eio",
				Title: "Bank records and monitoring of the accounts of the Turin money transfer agency Rimesse Sabauda s.a.s.",
				Summary: madrid + ". Payments made by the Madrid massage parlours were sent to Rimesse Sabauda " +
					"s.a.s., run by Fabrizio Carretta in Turin, and passed on to Bangkok.",
				LegalBasis: "Directive 2014/41/EU, Art. 26 to 28; Law 23/2014 (Spain); Legislative Decree no. 108/2017 (Italy)",
				Offences:   []string{laundering, trafficking},
				Measures:   []string{"bank_records", "monitoring_bank_operations"},
				Purpose:    "To follow the proceeds of the Madrid parlours to their recipients while the investigation runs.",
				Persons:    []workflow.PersonConcerned{as(carretta, workflow.PersonSuspect), as(boonmee, workflow.PersonSuspect)},
			},
			moves: []move{
				draftedBy(t.ago(24, 10, 15), esOfficer),
				send(t.ago(23, 9, 0), esSupervisor),
				acknowledge(t.ago(21, 11, 10), itOfficer, ref("DAG-II/OEI/%d/0602", 21)),
				requestInfo(t.ago(9, 10, 40), itOfficer, "Please state for how long the monitoring is sought and why it "+
					"is necessary (EIO Art. 28), and send the order of the Madrid investigating judge."),
			},
		},
		{
			// ES → IT, EIO, sent: Italy is late to acknowledge it.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "IT", Instrument: "eio",
				Title: "Hearing by videoconference of a former assistant of the network, now a witness in Turin",
				Summary: madrid + ". The witness worked for Grace Aigbe in Turin and accompanied victims to Madrid " +
					"twice; she is under protection in Italy.",
				LegalBasis: "Directive 2014/41/EU, Art. 24; Law 23/2014 (Spain); Legislative Decree no. 108/2017 (Italy)",
				Offences:   []string{trafficking, organisation},
				Measures:   []string{"video_hearing"},
				Purpose:    "To hear the witness on the Madrid apartments and those who managed them.",
			},
			moves: []move{
				draftedBy(t.ago(15, 9, 30), esOfficer),
				edit(t.ago(14, 12, 0), esOfficer, workflow.Changes{Persons: &[]workflow.PersonConcerned{
					as(nwosu, workflow.PersonWitness), as(aigbe, workflow.PersonSuspect), as(salvatierra, workflow.PersonSuspect),
				}}),
				send(t.ago(13, 11, 0), esSupervisor),
			},
		},
		{
			// IT → ES, EIO, still a draft.
			draft: workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "ES", Instrument: "eio",
				Title:      "Hearing of Rubén Salvatierra Ortega as a suspect by videoconference",
				LegalBasis: "Directive 2014/41/EU, Art. 24; Legislative Decree no. 108/2017 (Italy); Law 23/2014 (Spain)",
				Offences:   []string{laundering, organisation},
				Measures:   []string{"video_hearing"},
				DueDate:    t.date(45),
				Persons:    []workflow.PersonConcerned{as(salvatierra, workflow.PersonSuspect)},
			},
			moves: []move{
				draftedBy(t.ago(6, 15, 0), itOfficer),
				edit(t.ago(2, 10, 30), itOfficer, workflow.Changes{
					Summary: ptr(harmattan + ". The documents seized in Madrid show that Rubén Salvatierra Ortega " +
						"signed the leases of the apartments and the spa's payments to Turin. The suspect is to be " +
						"heard with his lawyer, and has been informed of his rights."),
					Purpose: ptr("To put the seized documents to the suspect before the close of the investigation."),
				}),
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }
