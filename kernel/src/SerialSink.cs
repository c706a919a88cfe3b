using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>The kernel's <see cref="ITextSink"/>: every character goes to COM1. Stateless, so
/// any number of <see cref="TextWriter{TSink}"/> copies may write through it.</summary>
internal struct SerialSink : ITextSink
{
    /// <inheritdoc/>
    public void Put(byte c) => Serial.Write(c);
}
