/**
 * The executive summary of a run (`coalmine report`): incidents, where, what the hijacked compute cost,
 * time to detect, and whether the telemetry could see it. Computed by triage/executive.ts, written by
 * sinks/executive.ts.
 */
import type { Severity } from './finding.js';

export interface IncidentLine {
  case: string;
  title: string;
  severity: Severity;
  tier: string;
  hosts: string[];
  more_hosts: number;
  first_seen: string;
  /** First evidence → first alert of any of its findings, in ms; absent when none recorded it. */
  time_to_detect_ms?: number;
  /** First → last evidence: how long the activity was seen. */
  active_ms: number;
  cost: number | null;
  currency: string | null;
}

export interface ExecutiveSummary {
  input: { files: number; events: number; bad_input: number; first?: string; last?: string };
  incidents: {
    total: number;
    by_severity: Partial<Record<Severity, number>>;
    /** Incidents the playbook hands to Tier 2. */
    tier2: number;
    /** Findings per analytic (an incident may hold several). */
    findings_by_analytic: Record<string, number>;
    suppressed_findings: number;
  };
  affected: { hosts: number; workloads: number; cloud_launches: number };
  compute: { core_hours: number; gpu_hours: number; instance_hours: number; cost: number; currency: string };
  time_to_detect: { incidents: number; median_ms?: number; longest_ms?: number };
  top: IncidentLine[];
  readiness: {
    covered: boolean;
    /** Hosts, cluster namespaces and cloud regions seen, and how many of them some analytic cannot fully judge. */
    scopes: number;
    partial: number;
    /** Most common missing telemetry: what it is, and how many scopes lack it. */
    gaps: Array<{ telemetry: string; scopes: number }>;
    more_gaps: number;
  };
}

/** How the SOC worked its cases (`coalmine report --store`): from the store's cases and their audit trails. */
export interface SocSummary {
  /** Cases created in the period (epoch ms bounds), merged ones left out. */
  since?: string;
  until: string;
  cases: number;
  /** More cases than the report reads were in the period; the first (newest) ones were read. */
  truncated: boolean;
  by_state: Record<string, number>;
  by_severity: Partial<Record<Severity, number>>;
  /** Closed cases by resolution: true-positive, benign, false-positive. */
  by_resolution: Record<string, number>;
  /** True positives ÷ (true + false positives) among closed cases: how often an alert was real. */
  alert_precision?: number;
  /** Medians, ms: first evidence → first alert (findings' detected_at); case created → triaged, contained, closed. */
  median_ms: { detect?: number; triage?: number; contain?: number; close?: number };
  /** Open Tier 2 cases not yet contained, and the oldest open case's age, ms. */
  tier2_uncontained: number;
  oldest_open_ms?: number;
  cost: number;
  currency: string;
}
