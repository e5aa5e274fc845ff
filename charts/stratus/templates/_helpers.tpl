{{/*
Names, labels and the role lists. Objects are written as YAML templates whose nested values come
from structured values through toYaml/toJson; no template assembles YAML from strings.
*/}}

{{- define "stratus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stratus.fullname" -}}
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

{{/* Every role, in start order; the ones with a Service (their names are the tRPC DNS names); the ones that read the storage routing file; the ones with an HPA; the ones with a PDB. */}}
{{- define "stratus.roles" -}}
{{- list "api" "accounts" "files" "uploads" "transfer" "operator" | toJson -}}
{{- end -}}
{{- define "stratus.serviceRoles" -}}
{{- list "api" "accounts" "files" "uploads" "transfer" | toJson -}}
{{- end -}}
{{- define "stratus.storageRoles" -}}
{{- list "api" "files" "uploads" "transfer" | toJson -}}
{{- end -}}
{{- define "stratus.scalableRoles" -}}
{{- list "api" "uploads" "transfer" | toJson -}}
{{- end -}}
{{- define "stratus.pdbRoles" -}}
{{- list "api" "uploads" | toJson -}}
{{- end -}}

{{- define "stratus.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/name: {{ include "stratus.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/part-of: stratus
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one role's objects: call with (dict "root" $ "role" "api"). */}}
{{- define "stratus.roleLabels" -}}
{{ include "stratus.labels" .root }}
app.kubernetes.io/component: {{ .role | quote }}
{{- end -}}

{{- define "stratus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stratus.name" .root | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .role | quote }}
{{- end -}}

{{- define "stratus.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Service of a role, named after the release so two releases share a namespace: call with (dict "root" $ "role" "files"). */}}
{{- define "stratus.serviceName" -}}
{{- printf "%s-%s" (include "stratus.fullname" .root) .role | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stratus.configName" -}}
{{- printf "%s-config" (include "stratus.fullname" .) -}}
{{- end -}}

{{- define "stratus.secretName" -}}
{{- default (printf "%s-secrets" (include "stratus.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "stratus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "stratus.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "stratus.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (printf "%s-operator" (include "stratus.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The shared secret of internal calls: the given one, else the one in the cluster, else a new random one. */}}
{{- define "stratus.internalToken" -}}
{{- if .Values.secrets.internalToken -}}
{{- .Values.secrets.internalToken -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "stratus.secretName" .) -}}
{{- if and $existing $existing.data (hasKey $existing.data "INTERNAL_TOKEN") -}}
{{- index $existing.data "INTERNAL_TOKEN" | b64dec -}}
{{- else -}}
{{- randAlphaNum 48 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The JWT secret: the given one, else the one already in the cluster, else a new random one. */}}
{{- define "stratus.jwtSecret" -}}
{{- if .Values.secrets.jwtSecret -}}
{{- .Values.secrets.jwtSecret -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "stratus.secretName" .) -}}
{{- if and $existing $existing.data (hasKey $existing.data "JWT_SECRET") -}}
{{- index $existing.data "JWT_SECRET" | b64dec -}}
{{- else -}}
{{- randAlphaNum 48 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The job label of every scraped Stratus series (ServiceMonitor jobLabel), and the selector of the alerts' queries. */}}
{{- define "stratus.metricsJob" -}}
{{- include "stratus.fullname" . -}}
{{- end -}}
{{- define "stratus.alertSelector" -}}
{{- printf "job=%q, namespace=%q" (include "stratus.metricsJob" .) .Release.Namespace -}}
{{- end -}}
