// CPU time and peak memory of benchmark processes, read from /proc (Linux). The CPU of a
// process is utime+stime of its whole thread group (Node's GC and libuv threads count),
// in clock ticks (USER_HZ, 100 on Linux: 10 ms resolution — measure seconds, not ms).

import { readFileSync, readdirSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on every Linux ABI Node supports (sysconf(_SC_CLK_TCK))

/** utime + stime of `pid` in milliseconds; undefined when the process is gone. */
export function cpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after its end.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Sum of cpuMs over `pids` (a vanished pid counts 0). */
export function totalCpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += cpuMs(pid) ?? 0;
  return total;
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Peak resident set size (VmHWM) in bytes, summed over `pids`. */
export function peakRssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += (statusKb(pid, 'VmHWM') ?? 0) * 1024;
  return total;
}

/** Current resident set size (VmRSS) in bytes, summed over `pids`. */
export function rssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += (statusKb(pid, 'VmRSS') ?? 0) * 1024;
  return total;
}

/** The largest current resident set size (VmRSS) of one of `pids`, bytes. */
export function maxProcessRssBytes(pids: readonly number[]): number {
  let max = 0;
  for (const pid of pids) max = Math.max(max, (statusKb(pid, 'VmRSS') ?? 0) * 1024);
  return max;
}

/** Direct children of `pid` (e.g. nginx's workers), found by scanning /proc for their parent. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // The process exited while we looked.
    }
  }
  return out;
}
