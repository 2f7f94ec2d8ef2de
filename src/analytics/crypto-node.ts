/**
 * Cryptocurrency node traffic (Bitcoin, Monero and Ethereum P2P, node RPC) is not mining: a full node
 * verifies and relays blocks; it does not hash for a pool. It is still worth knowing about on a
 * server that should not run one, so it is shown as an informational finding, never graded as
 * hijacking and never tagged T1496. Runs only when no hijacking analytic found anything in the same
 * evidence: a miner that also talks to a node is reported once, by the analytic that caught it.
 */
import { factsOf, findingSubject, processFactsOf, relatedEntities, usageOf } from './explain.js';
import type { Analytic, ClusterView, FindingDraft } from './types.js';

/** Distinct peers named in the summary; the evidence lists every one. */
const MAX_PEERS_NAMED = 3;
/** What each `stratum:*` node classifier recognised, for the summary line. */
const PROTOCOL: Record<string, string> = {
  'stratum:p2p': 'node P2P (Bitcoin/Monero handshake)',
  'stratum:node-rpc': 'node JSON-RPC',
  'stratum:devp2p': 'Ethereum devp2p port',
};

function evaluate(view: ClusterView): FindingDraft | undefined {
  const nodes = view.evidence.filter((s) => s.kind === 'crypto-p2p');
  if (nodes.length === 0) return undefined;
  const { primary, entity, where, gaps } = findingSubject(view);
  const peers = [...new Set(nodes.map((s) => s.subject?.destination).filter((d): d is string => d !== undefined))];
  const protocols = [...new Set(nodes.map((s) => PROTOCOL[s.by] ?? s.by))];
  const named = peers.slice(0, MAX_PEERS_NAMED).join(', ');
  const more = peers.length > MAX_PEERS_NAMED ? ` and ${peers.length - MAX_PEERS_NAMED} more` : '';
  return {
    analytic: cryptoNode.id,
    title: `Cryptocurrency node traffic (not mining) ${where}`,
    attack: [],
    severity: 'informational',
    // how sure we are that this is node traffic, not how bad it is
    confidence: nodes.some((s) => s.strength !== 'weak') ? 0.8 : 0.6,
    entity,
    related: relatedEntities(view, entity, primary),
    legs: [],
    summary: `informational: ${protocols.join(', ')} with ${peers.length} peer${peers.length === 1 ? '' : 's'} (${named}${more}); no pool protocol, pool name or miner seen, so not graded as hijacking. Confirm the node is sanctioned on this host`,
    evidence: nodes,
    gaps,
    facts: factsOf(primary, nodes, view.host.name),
    processes: processFactsOf(view, primary),
    usage: usageOf(view),
  };
}

export const cryptoNode: Analytic = {
  id: 'crypto-node',
  title: 'Cryptocurrency node traffic (informational, not mining)',
  platforms: ['*'],
  onlyWhenNoOther: true,
  evaluate,
};
