// Reads a /metrics answer the way Prometheus would: a well-known parser (parse-prometheus-text-format,
// a port of the Prometheus Python client's parser) plus a strict line grammar of the text exposition
// format 0.0.4, because the parser alone forgives some malformed lines.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
// Values as Prometheus reads them (Go's strconv.ParseFloat): NaN and Inf in any case (prom-client writes "Nan").
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[nN][aA][nN]|[+-]?[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`);
const HELP = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

/** Throws with the offending line when the text is not valid exposition format; returns the parsed families. */
export function parsePrometheusText(text: string): ParsedFamily[] {
  if (!text.endsWith('\n')) throw new Error('exposition text must end with a newline');
  const typed = new Map<string, string>();
  const seen = new Set<string>();
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const where = `line ${i + 1}: ${line}`;
      if (line === '') return;
      const type = TYPE.exec(line);
      if (type) {
        if (typed.has(type[1]!)) throw new Error(`second TYPE for ${type[1]} at ${where}`);
        typed.set(type[1]!, type[2]!);
        return;
      }
      if (HELP.test(line)) return;
      if (line.startsWith('#')) throw new Error(`malformed comment at ${where}`);
      const sample = SAMPLE.exec(line);
      if (!sample) throw new Error(`malformed sample at ${where}`);
      const name = sample[1]!;
      const family = typed.has(name) ? name : SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : '')).find((n) => n && typed.has(n));
      if (!family) throw new Error(`sample before its TYPE line at ${where}`);
      const series = line.slice(0, line.lastIndexOf(' '));
      if (seen.has(series)) throw new Error(`duplicate series at ${where}`);
      seen.add(series);
    });
  return parsePrometheusTextFormat(text);
}

/** The value of one series, e.g. sampleValue(families, 'smtpdesk_webhook_calls_total', { direction: 'inbound', result: 'ok' }). */
export function sampleValue(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample === undefined ? undefined : Number(sample.value);
}
