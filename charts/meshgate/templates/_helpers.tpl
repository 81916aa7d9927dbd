{{/* Names are DNS labels: every name below is trimmed to 63 characters. */}}

{{- define "meshgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "meshgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the full name: "<fullname>-<suffix>", still at most 63 characters. */}}
{{- define "meshgate.suffixed" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $max := sub 62 (len $suffix) | int -}}
{{- printf "%s-%s" (include "meshgate.fullname" $root | trunc $max | trimSuffix "-") $suffix -}}
{{- end -}}

{{- define "meshgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "meshgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "meshgate.labels" -}}
helm.sh/chart: {{ include "meshgate.chart" . }}
app.kubernetes.io/name: {{ include "meshgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: meshgate
{{- end -}}

{{- define "meshgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meshgate.fullname" .) .Values.serviceAccount.name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "meshgate.webhookServiceName" -}}
{{- include "meshgate.suffixed" (list . "webhook") -}}
{{- end -}}

{{- define "meshgate.caSecretName" -}}
{{- default (include "meshgate.suffixed" (list . "ca")) .Values.ca.secretName -}}
{{- end -}}

{{- define "meshgate.operatorImage" -}}
{{- if .Values.localRunner.enabled -}}
{{- .Values.localRunner.image -}}
{{- else -}}
{{- printf "%s:%s" .Values.operator.image.repository (default .Chart.AppVersion .Values.operator.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "meshgate.proxyImage" -}}
{{- printf "%s:%s" .Values.proxy.image.repository (default .Chart.AppVersion .Values.proxy.image.tag) -}}
{{- end -}}

{{/* The plurals of every meshgate.io CRD shipped in files/crds: RBAC follows the CRDs. */}}
{{- define "meshgate.crdPlurals" -}}
{{- $plurals := list -}}
{{- range $path, $_ := .Files.Glob "files/crds/*.yaml" -}}
{{- $crd := $.Files.Get $path | fromYaml -}}
{{- if eq $crd.spec.group "meshgate.io" -}}
{{- $plurals = append $plurals $crd.spec.names.plural -}}
{{- end -}}
{{- end -}}
{{- toJson (sortAlpha $plurals) -}}
{{- end -}}

{{/* What proxies dial for the config server: the value, else the Service's clusterIP when fixed,
else its cluster DNS name. */}}
{{- define "meshgate.configServerAddress" -}}
{{- $port := int .Values.configServer.port -}}
{{- if .Values.configServer.address -}}
{{- .Values.configServer.address -}}
{{- else if .Values.configServer.clusterIP -}}
{{- printf "%s:%d" .Values.configServer.clusterIP $port -}}
{{- else -}}
{{- printf "%s.%s.svc:%d" (include "meshgate.suffixed" (list . "config")) .Release.Namespace $port -}}
{{- end -}}
{{- end -}}
