/** Types of npm:parse-prometheus-text-format, which ships none. */
declare function parsePrometheusTextFormat(text: string): unknown[];
export default parsePrometheusTextFormat;
