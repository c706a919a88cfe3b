using System.Collections.Generic;

namespace SharpMM.Hosted.Trace;

/// <summary>
/// The map and unmap events of a replay: which virtual pages are mapped, checked event by event.
/// A trace names pages by number only (several address spaces may map the same page, a forked
/// child its parent's), so each page keeps a count of its live mappings; an unmap of a page with
/// none contradicts the trace.
/// </summary>
public sealed class MappingReplay
{
    private readonly Dictionary<ulong, uint> _live = new();

    /// <summary>Mappings live now.</summary>
    public ulong LiveMappings { get; private set; }

    /// <summary>Highest number of live mappings.</summary>
    public ulong PeakMappings { get; private set; }

    /// <summary>Unmaps of a page that had no live mapping (0 for a recorded trace).</summary>
    public ulong Unmatched { get; private set; }

    /// <summary>Replays event <paramref name="e"/>, a Map or an Unmap.</summary>
    public void Replay(in TraceEvent e)
    {
        if (e.Kind == TraceEventKind.Map)
        {
            _live[e.B] = _live.GetValueOrDefault(e.B) + 1;
            if (++LiveMappings > PeakMappings) PeakMappings = LiveMappings;
            return;
        }
        if (!_live.TryGetValue(e.B, out uint n)) { Unmatched++; return; }
        if (n == 1) _live.Remove(e.B);
        else _live[e.B] = n - 1;
        LiveMappings--;
    }

    /// <summary>True for the kinds this replays.</summary>
    public static bool Handles(TraceEventKind k) => k is TraceEventKind.Map or TraceEventKind.Unmap;
}
