/** What the agents page shows of an agent, derived from the API's answer. */
import type { components } from '../../api/schema.gen'

export type Agent = components['schemas']['AgentOut']
export type AgentStatus = 'connected' | 'draining' | 'offline'

export function agentStatus(agent: Pick<Agent, 'connected' | 'draining'>): AgentStatus {
  if (!agent.connected) return 'offline'
  return agent.draining ? 'draining' : 'connected'
}

export const STATUS_COLOR: Record<AgentStatus, string> = { connected: 'green', draining: 'orange', offline: 'gray' }

/** The names of the actions an agent offers (the API gives each as an object with a name). */
export function actionNames(agent: Pick<Agent, 'actions'>): string[] {
  return agent.actions.map((action) => String(action.name ?? '')).filter(Boolean)
}

/** Where the jobs running on an agent are listed. */
export function runningJobsPath(agentId: string): string {
  return `/jobs?${new URLSearchParams({ agent_id: agentId, state: 'running' })}`
}

/** The command that connects an agent to this server; the key goes in the environment
 * (argv is visible to other users of the machine). */
export function connectCommand(origin: string, key: string | null): string {
  return `CONVEYOR_AGENT_KEY=${key ?? '<agent key>'} conveyor agent --server ${origin} --demo`
}

/** Agents first by status (connected, draining, offline), then by name. */
export function sortAgents(agents: Agent[]): Agent[] {
  const rank: Record<AgentStatus, number> = { connected: 0, draining: 1, offline: 2 }
  return [...agents].sort((a, b) => rank[agentStatus(a)] - rank[agentStatus(b)] || a.name.localeCompare(b.name))
}
