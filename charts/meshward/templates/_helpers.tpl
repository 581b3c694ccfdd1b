{{/* Names, labels and shared values of the meshward chart. */}}

{{- define "meshward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-meshward, or the release name when it already contains the chart name. Room is left for suffixes. */}}
{{- define "meshward.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "meshward.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/); pass (dict "ctx" $ "component" "injector"). */}}
{{- define "meshward.labels" -}}
helm.sh/chart: {{ include "meshward.chart" .ctx }}
{{ include "meshward.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: meshward
{{- end }}

{{- define "meshward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshward.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "meshward.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "meshward.injectorName" -}}{{ include "meshward.fullname" . }}-injector{{- end }}
{{- define "meshward.webhookTlsSecret" -}}{{ include "meshward.fullname" . }}-webhook-tls{{- end }}
{{- define "meshward.redisName" -}}{{ include "meshward.fullname" . }}-redis{{- end }}
{{- define "meshward.jaegerName" -}}{{ include "meshward.fullname" . }}-jaeger{{- end }}

{{/* native when the cluster runs native sidecars (Kubernetes >= 1.29), else container. */}}
{{- define "meshward.sidecarMode" -}}
{{- if eq .Values.sidecar.mode "auto" }}
{{- if semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version }}native{{ else }}container{{ end }}
{{- else }}
{{- .Values.sidecar.mode }}
{{- end }}
{{- end }}

{{/* The DNS names the injector's Service answers to (the webhook certificate's SANs). */}}
{{- define "meshward.injectorDnsNames" -}}
{{- $svc := include "meshward.injectorName" . }}
- {{ $svc }}
- {{ $svc }}.{{ .Release.Namespace }}
- {{ $svc }}.{{ .Release.Namespace }}.svc
- {{ $svc }}.{{ .Release.Namespace }}.svc.cluster.local
{{- end }}

{{/* The restricted Pod Security Standard for a container; pass the user id. */}}
{{- define "meshward.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The sidecar config sections every injected sidecar gets: sidecar.config plus Redis and Jaeger when enabled. */}}
{{- define "meshward.sidecarConfig" -}}
{{- $config := deepCopy .Values.sidecar.config }}
{{- if .Values.redis.enabled }}
{{- $url := printf "redis://%s.%s.svc:6379" (include "meshward.redisName" .) .Release.Namespace }}
{{- $redis := dict "store" "redis" "redis" (dict "url" $url "failMode" .Values.redis.failMode "timeout" .Values.redis.timeout) }}
{{- $_ := set $config "rateLimit" (mustMergeOverwrite $redis (get $config "rateLimit" | default dict)) }}
{{- end }}
{{- if .Values.jaeger.enabled }}
{{- $port := ternary "4317" "4318" (eq .Values.jaeger.protocol "grpc") }}
{{- $otlp := dict "endpoint" (printf "http://%s.%s.svc:%s" (include "meshward.jaegerName" .) .Release.Namespace $port) "protocol" .Values.jaeger.protocol }}
{{- $telemetry := get $config "telemetry" | default dict }}
{{- $_ := set $telemetry "otlp" (mustMergeOverwrite $otlp (get $telemetry "otlp" | default dict)) }}
{{- $_ := set $config "telemetry" $telemetry }}
{{- end }}
{{- toYaml $config }}
{{- end }}
