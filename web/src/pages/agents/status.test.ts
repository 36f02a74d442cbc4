import { describe, expect, it } from 'vitest'
import { actionNames, agentStatus, connectCommand, runningJobsPath, sortAgents, type Agent } from './status'

function agent(name: string, connected: boolean, draining = false): Agent {
  return {
    id: `id-${name}`, name, connected, draining, labels: {}, slots: 2, slots_busy: 0, host: '', version: '1',
    queues: ['default'], actions: [{ name: 'demo.echo' }], connected_at: null, last_seen_at: null,
    disconnected_at: null, created_at: '2026-06-01T00:00:00Z',
  } as Agent
}

describe('agents', () => {
  it('says connected, draining or offline', () => {
    expect(agentStatus(agent('a', true))).toBe('connected')
    expect(agentStatus(agent('a', true, true))).toBe('draining')
    expect(agentStatus(agent('a', false, true))).toBe('offline')
  })

  it('lists connected agents first, then by name', () => {
    const sorted = sortAgents([agent('c', false), agent('b', true, true), agent('z', true), agent('a', true)])
    expect(sorted.map((a) => a.name)).toEqual(['a', 'z', 'b', 'c'])
  })

  it('links to the jobs running on an agent', () => {
    expect(runningJobsPath('abc')).toBe('/jobs?agent_id=abc&state=running')
  })

  it('names the actions and gives the command with the key in the environment', () => {
    expect(actionNames(agent('a', true))).toEqual(['demo.echo'])
    expect(connectCommand('https://c.example', 'cva_123')).toBe('CONVEYOR_AGENT_KEY=cva_123 conveyor agent --server https://c.example --demo')
    expect(connectCommand('http://h:8000', null)).toContain('CONVEYOR_AGENT_KEY=<agent key>')
  })
})
