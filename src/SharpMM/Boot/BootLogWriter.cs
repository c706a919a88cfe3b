using SharpMM.Diagnostics;

namespace SharpMM.Boot;

/// <summary>
/// Prints a memory map the way Linux prints its e820 table, one line per entry:
/// <code>
///   BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] usable
/// </code>
/// The end is inclusive (End - 1), both bounds have 16 lowercase hex digits, the type is spelled
/// as <see cref="MemoryTypeNames.Write"/> does. <see cref="BootLogParser"/> reads the output back
/// into an equal map: an entry ending at ulong.MaxValue prints 0xfffffffffffffffe, which reads
/// back as ulong.MaxValue; an empty entry prints with its end one below its start, as Linux would
/// (one at address 0 cannot be expressed and is left out).
/// </summary>
public static class BootLogWriter
{
    /// <summary>Writes every entry of <paramref name="map"/> as "PREFIX: [mem ...] TYPE\n".</summary>
    public static void Write<TSink>(ref TextWriter<TSink> w, in MemoryMap map, string prefix = "BIOS-e820") where TSink : struct, ITextSink
    {
        for (int i = 0; i < map.Count; i++)
        {
            MemoryMapEntry e = map[i];
            if (e.End <= e.Start && e.Start == 0) continue;
            w.Str(prefix);
            w.Str(": [mem ");
            w.Hex(e.Start, 16);
            w.Char('-');
            w.Hex(e.End - 1, 16);
            w.Str("] ");
            MemoryTypeNames.Write(ref w, e.Type);
            w.Line();
        }
    }
}
