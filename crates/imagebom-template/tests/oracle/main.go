// Go 1.19 text/template oracle: reads a JSON case from stdin
// {"templates":[["name","src"],...], "exec":"name", "data": <json>, "missingkey":"zero", "helm":true}
// prints OK\n<output> or ERR\n<error>
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

type tcase struct {
	Templates  [][2]string  `json:"templates"`
	Exec       string       `json:"exec"`
	Data       interface{}  `json:"data"`
	MissingKey string       `json:"missingkey"`
	Helm       bool         `json:"helm"`
}

const recursionMaxNums = 1000

func includeFun(t *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		if v, ok := includedNames[name]; ok {
			if v > recursionMaxNums {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
			}
			includedNames[name]++
		} else {
			includedNames[name] = 1
		}
		err := t.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
}

func tplFun(parent *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(tpl string, vals interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{
			"include": includeFun(t, includedNames),
			"tpl":     tplFun(t, includedNames),
		})
		t, err = t.New(parent.Name()).Parse(tpl)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", tpl, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", tpl, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

func main() {
	var c tcase
	dec := json.NewDecoder(os.Stdin)
	if err := dec.Decode(&c); err != nil {
		fmt.Println("BADCASE", err)
		os.Exit(2)
	}
	t := template.New("gotpl")
	if c.MissingKey != "" {
		t.Option("missingkey=" + c.MissingKey)
	}
	if c.Helm {
		names := map[string]int{}
		t.Funcs(template.FuncMap{
			"include": includeFun(t, names),
			"tpl":     tplFun(t, names),
			"fail":    func(msg string) (string, error) { return "", fmt.Errorf("HELM_ERR_START%sHELM_ERR_END", msg) },
			"upper":   strings.ToUpper,
			"nindent": func(n int, s string) string { p := strings.Repeat(" ", n); return "\n" + p + strings.ReplaceAll(s, "\n", "\n"+p) },
		})
	}
	for _, nt := range c.Templates {
		if _, err := t.New(nt[0]).Parse(nt[1]); err != nil {
			fmt.Print("ERR\n" + err.Error())
			return
		}
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, c.Exec, c.Data); err != nil {
		fmt.Print("ERR\n" + err.Error())
		return
	}
	fmt.Print("OK\n" + buf.String())
}
