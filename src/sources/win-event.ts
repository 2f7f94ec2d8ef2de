/**
 * One Windows event as every Windows format carries it (binary EVTX, XML export, evtx_dump JSON,
 * Winlogbeat), before normalisation, and the one mapping from it to CoalEvents. Each Windows source
 * decodes its own container into WinEvent; everything after that is shared here.
 */

/** The System block plus EventData/UserData flattened to name → text. */
export interface WinEvent {
  /** System/Provider@Name, e.g. `Microsoft-Windows-Sysmon`, `Microsoft-Windows-Security-Auditing`. */
  provider: string;
  /** System/Channel, e.g. `Microsoft-Windows-Sysmon/Operational`, `Security`. */
  channel: string;
  /** System/EventID (without Qualifiers). */
  eventId: number;
  /** System/EventRecordID when the format has it. */
  recordId?: number;
  /** System/TimeCreated@SystemTime as ISO 8601 UTC with the source's precision (up to 100 ns), ending in `Z`. */
  timeCreated: string;
  /** System/Computer. */
  computer: string;
  /** System/Execution@ProcessID and @ThreadID: the process that logged the event (not its subject). */
  executionPid?: number;
  executionTid?: number;
  /** System/Security@UserID (a SID), when present. */
  userSid?: string;
  /**
   * EventData `<Data Name="X">v</Data>` as `X → v`; unnamed `<Data>` elements as `param1`, `param2`, …
   * (Winlogbeat's names); UserData's leaf elements by their tag name; `<Binary>` as `Binary` (hex).
   * Values are text as Windows renders them (integers decimal, HexInt types `0x…`, GUIDs `{…}`,
   * SIDs `S-1-…`, times ISO 8601). Bounded by the reader: no value over 64 KiB.
   */
  data: Record<string, string>;
}
