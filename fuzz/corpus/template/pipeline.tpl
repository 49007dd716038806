{{- define "img" -}}{{ .repository }}:{{ .tag | default "latest" }}{{- end -}}
{{- $x := dict "a" 1 "b" (list 1 2 3) }}{{ range $i, $v := .Values.list }}{{ $i }}={{ $v | quote }},{{ end }}
image: {{ include "img" .Values.image | quote }}
{{ with .Values.missing }}{{ . }}{{ else }}none{{ end }} {{ if and .Values.enabled (gt (len .Values.list) 2) }}{{ printf "%05d %s %v" 42 "x" $x | trim | upper }}{{ end }}
{{ toYaml .Values | nindent 2 }}{{ tpl "{{ .Release.Name }}" . }} {{ range 3 }}{{ . }}{{ end }} {{ semverCompare ">=1.2" "1.3.0" }}
