namespace SharpMM.Diagnostics;

/// <summary>
/// Where reports go: hosted, a buffer printed to the console; in the kernel, the serial port.
/// Used as a generic constraint on a struct so every call is static and allocation-free.
/// Text is ASCII.
/// </summary>
public interface ITextSink
{
    /// <summary>Writes one ASCII character.</summary>
    void Put(byte c);
}
