// Command gotmpl is the Go text/template oracle of imagebom's conformance suite.
//
// It reads a JSON array of vectors {"name", "template", "data"} on stdin, executes each
// template (named "t", Go's default options, no functions beyond the builtins) with `.` set
// to the vector's data decoded by encoding/json (numbers are float64), and prints a JSON
// array of results {"name", "output"} or {"name", "error"} on stdout. Standard library only.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"text/template"
)

type vector struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

type result struct {
	Name   string  `json:"name"`
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

func run(v vector) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	var data interface{}
	if len(v.Data) > 0 {
		if err := json.Unmarshal(v.Data, &data); err != nil {
			return "", fmt.Errorf("oracle: bad data: %v", err)
		}
	}
	t, err := template.New("t").Parse(v.Template)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func main() {
	var vectors []vector
	if err := json.NewDecoder(os.Stdin).Decode(&vectors); err != nil {
		fmt.Fprintln(os.Stderr, "gotmpl oracle: reading vectors:", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(vectors))
	for _, v := range vectors {
		out, err := run(v)
		r := result{Name: v.Name}
		if err != nil {
			s := err.Error()
			r.Error = &s
		} else {
			r.Output = &out
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "gotmpl oracle: writing results:", err)
		os.Exit(2)
	}
}
