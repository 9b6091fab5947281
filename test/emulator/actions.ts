// Actions: what a droplet or volume action starts, answered "in-progress" and completed once its
// work is done (at once, unless a hook makes it wait). godo's WaitForAction polls
// GET /v2/actions/:id until `completed_at` is set.
import { regionInfo } from "./catalog";
import { notFound, page, Router, timestamp } from "./http";
import { ActionRecord, EmulatorState } from "./state";

export function actionView(a: ActionRecord) {
  return {
    id: a.id,
    status: a.status,
    type: a.type,
    started_at: a.startedAt,
    completed_at: a.completedAt,
    resource_id: a.resourceId,
    resource_type: a.resourceType,
    region: a.region === null ? null : (regionInfo(a.region) ?? null),
    region_slug: a.region,
  };
}

/**
 * Starts an action and returns it as DigitalOcean answers it, in progress; `work` runs after,
 * and its end completes the action (or errors it, noted in state.problems).
 */
export function startAction(
  state: EmulatorState,
  what: {
    type: string;
    resourceId: number;
    resourceType: string;
    region: string | null;
    volumeId?: string;
  },
  work: () => void | Promise<void>,
): ReturnType<typeof actionView> {
  const action: ActionRecord = {
    id: state.nextActionId(),
    type: what.type,
    status: "in-progress",
    startedAt: timestamp(),
    completedAt: null,
    resourceId: what.resourceId,
    resourceType: what.resourceType,
    region: what.region,
    volumeId: what.volumeId,
  };
  state.actions.set(action.id, action);
  const answer = actionView(action);
  Promise.resolve()
    .then(work)
    .then(
      () => {
        action.status = "completed";
        action.completedAt = timestamp();
      },
      (e: unknown) => {
        action.status = "errored";
        action.completedAt = timestamp();
        state.problems.push({
          what: `action ${action.id} (${action.type} on ${action.resourceType} ${action.resourceId})`,
          error: e instanceof Error ? e.message : String(e),
        });
      },
    );
  return answer;
}

export function actionRoutes(r: Router, state: EmulatorState): void {
  r.add("GET", "/v2/actions", (call) =>
    page(call, "actions", [...state.actions.values()].reverse().map(actionView)),
  );
  r.add("GET", "/v2/actions/:id", (call) => {
    const a = state.actions.get(Number(call.params.id));
    if (a === undefined) throw notFound();
    return { status: 200, body: { action: actionView(a) } };
  });
}
