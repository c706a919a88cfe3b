using System.Text;
using SharpMM.Diagnostics;

namespace SharpMM.Hosted;

/// <summary>Collects library output (ASCII) into a StringBuilder.</summary>
public struct StringSink : ITextSink
{
    /// <summary>The text so far.</summary>
    public StringBuilder Text;

    /// <summary>A sink over a new builder.</summary>
    public static TextWriter<StringSink> NewWriter() => new(new StringSink { Text = new StringBuilder() });

    /// <inheritdoc/>
    public void Put(byte c) => Text.Append((char)c);
}
