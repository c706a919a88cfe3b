using SharpMM.Diagnostics;

namespace SharpMM.Boot;

/// <summary>
/// Why a memory map could not be read or sanitized: the status, where (a line, an entry or a tag)
/// and a fixed reason such as "end before start" or "unparsable number". Reasons are string
/// literals, so building an error allocates nothing.
/// </summary>
public struct MapError
{
    /// <summary>The status the failing call returned (<see cref="Status.Ok"/> when there is no error).</summary>
    public Status Status;
    /// <summary>What <see cref="Index"/> counts.</summary>
    public MapErrorKind Kind;
    /// <summary>1-based line number (<see cref="MapErrorKind.Line"/>) or 0-based entry/tag index.</summary>
    public int Index;
    /// <summary>A literal naming the problem, e.g. "end before start"; null when there is no error.</summary>
    public string Reason;

    internal static MapError Ok => default;

    internal static MapError At(Status status, MapErrorKind kind, int index, string reason)
    {
        MapError e;
        e.Status = status;
        e.Kind = kind;
        e.Index = index;
        e.Reason = reason;
        return e;
    }

    internal static MapError Whole(Status status, string reason) => At(status, MapErrorKind.None, 0, reason);

    /// <summary>Prints "line 7: end before start", "entry 3: length overflows", "tag 2: ..." or,
    /// for an error without a position, only the reason. No line break is written.</summary>
    public readonly void Write<TSink>(ref TextWriter<TSink> w) where TSink : struct, ITextSink
    {
        switch (Kind)
        {
            case MapErrorKind.Line: w.Str("line "); w.Dec((ulong)Index); w.Str(": "); break;
            case MapErrorKind.Entry: w.Str("entry "); w.Dec((ulong)Index); w.Str(": "); break;
            case MapErrorKind.Tag: w.Str("tag "); w.Dec((ulong)Index); w.Str(": "); break;
        }
        w.Str(Reason ?? StatusNames.Name(Status));
    }
}
