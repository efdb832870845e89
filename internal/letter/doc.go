// Package letter composes a request's letter of request as PDF (CONTRACT
// 6): the letter a central authority sends with, or as, its request,
// laid out as the UNODC Mutual Legal Assistance Request Writer Tool lays
// out its letter: the requesting and the requested authority, both
// references and the date, the subject, the legal basis, the purpose, the
// summary of the facts, the offences, the assistance sought (for an
// extradition, the person sought and the warrant), the persons concerned,
// urgency and the date the assistance is needed by, confidentiality, and a
// closing naming who drafted it.
//
// Compose lays the letter out as text blocks, a pure function of the
// request as workflow.Service.Letter hands it over (protected persons
// already concealed from whom may not see them); Render turns the blocks
// into PDF with go-pdf/fpdf and an embedded DejaVu Sans with Thai merged
// in, so that names in any script the font covers print as written. A
// character the font lacks prints as "?"; Render never panics, whatever
// the text.
package letter
