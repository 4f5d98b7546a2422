import { existsSync, readdirSync, readFileSync } from "node:fs";

/**
 * CPU time of a process from Linux's per-thread scheduler statistics
 * (/proc/<pid>/task/<tid>/schedstat, first field: nanoseconds on a CPU):
 * exact to the nanosecond and blind to time spent waiting for a core, so it
 * measures the work, not the machine's load.
 */

export function hasSchedstat(): boolean {
  return existsSync("/proc/self/schedstat");
}

/** Nanoseconds the process (all its threads, garbage collector included) has run. */
export function processCpuNs(pid: number | "self"): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns;
}

/** The pid of this process's child named `name` (e.g. the workerd Miniflare started). */
export function childPid(name: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (m && m[1] === name && Number(m[2]) === process.pid) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no child process named ${name}`);
}
