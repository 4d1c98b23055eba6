package report

import "strings"

// textSection holds the template's text, paragraph by paragraph (blank lines separate them;
// single line breaks join).
func textSection(s SectionSpec) Section {
	sec := Section{Title: s.Title}
	for _, para := range strings.Split(strings.ReplaceAll(s.Text, "\r\n", "\n"), "\n\n") {
		if p := strings.Join(strings.Fields(para), " "); p != "" {
			sec.Paragraphs = append(sec.Paragraphs, p)
		}
	}
	return sec
}
