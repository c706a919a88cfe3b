using System.IO;

namespace SharpMM.Hosted.Peers;

/// <summary>The process's resident set, from /proc/self/statm (as the C peers read it).</summary>
public static class ProcessMemory
{
    /// <summary>Resident bytes now; 0 where /proc is not available.</summary>
    public static ulong ResidentBytes()
    {
        try
        {
            string[] f = File.ReadAllText("/proc/self/statm").Split(' ');
            return f.Length > 1 && ulong.TryParse(f[1], out ulong pages) ? pages * 4096 : 0;
        }
        catch (IOException) { return 0; }
    }
}
