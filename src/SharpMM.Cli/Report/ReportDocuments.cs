using System.Collections.Generic;
using System.Text.Json.Nodes;

namespace SharpMM.Cli.Report;

/// <summary>
/// What a report draws: the JSON documents the text commands print with --json, so every figure
/// in the report is the same number the JSON gives. Each is optional; the report has the
/// sections of the documents it was given.
/// </summary>
/// <param name="Boot">`sharpmm boot --json`: the physical map, zones, buddyinfo, memblock, slabinfo.</param>
/// <param name="PageTables">`sharpmm pagetable --json` of a layout: regions, mapped runs, tables per level.</param>
/// <param name="Workload">`sharpmm workload --json`: faults by kind, paging, the resident set over time.</param>
/// <param name="Replays">`sharpmm trace replay --json`, one per allocator: free pages by order and the largest free order over the
/// replay (page allocators), footprint against live bytes (kmalloc and the system mallocs).</param>
internal sealed record ReportDocuments(JsonObject? Boot, JsonObject? PageTables, JsonObject? Workload, IReadOnlyList<JsonObject>? Replays = null);
