/**
 * The log-path chaos scenarios, at a size: otto-handler killed and restarted during push
 * delivery, LogStreamingService agents dropping their connection mid-stream, and a full
 * STATE_DIR.
 *
 * @module
 */

import { agentDrop } from "./agent_drop.ts";
import { handlerRestart } from "./handler_restart.ts";
import { named, type Scenario } from "./scenario.ts";
import { stateDirFull } from "./state_dir_full.ts";

/** The log-path scenarios: short (for the test command) or full. */
export function logPathScenarios(short: boolean): Scenario[] {
  return [
    named(
      "handler-restart",
      () =>
        handlerRestart(
          short
            ? { workers: 4, lines: 2_500, kills: 3, intervalMs: 500 }
            : { workers: 4, lines: 50_000, kills: 20, intervalMs: 1500 },
        ),
    ),
    named(
      "agent-drop",
      () =>
        agentDrop(
          short ? { agents: 2, lines: 3_000, drops: 1 } : { agents: 4, lines: 50_000, drops: 5 },
        ),
    ),
    named(
      "state-dir-full",
      () =>
        stateDirFull(
          short
            ? { workers: 2, lines: 3_000, fills: 1, fullMs: 3_000, sizeMiB: 8 }
            : { workers: 4, lines: 20_000, fills: 5, fullMs: 10_000, sizeMiB: 32 },
        ),
    ),
  ];
}
