using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// Entry point for kernel output: <c>var w = Log.Writer(); w.Str("..."); w.Hex(x, 16); w.Line();</c>.
/// All kernel text goes through the library's <see cref="TextWriter{TSink}"/>, so numbers, sizes
/// and memory maps print exactly as the hosted CLI prints them.
/// </summary>
internal static class Log
{
    /// <summary>A writer to the serial port.</summary>
    public static TextWriter<SerialSink> Writer() => new TextWriter<SerialSink>(default);

    /// <summary>Writes one line.</summary>
    public static void Line(string s)
    {
        TextWriter<SerialSink> w = Writer();
        w.Line(s);
    }
}
