import type { Logger } from '@leadrelay/core';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string | undefined;
  obj: Record<string, unknown>;
}

/** A logger that keeps every line (bindings merged in), for asserting what was logged. */
export function createCaptureLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & {
  lines: LogLine[];
} {
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, msg, obj: { ...bindings, ...(obj as Record<string, unknown>) } });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => createCaptureLogger(lines, { ...bindings, ...more }),
  };
}
