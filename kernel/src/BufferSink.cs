using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>An <see cref="ITextSink"/> over a caller's buffer, for tests that check formatted
/// text. Characters past the capacity are counted but dropped.</summary>
internal unsafe struct BufferSink : ITextSink
{
    private readonly byte* _buffer;
    private readonly int _capacity;
    private int _length;

    public BufferSink(byte* buffer, int capacity) { _buffer = buffer; _capacity = capacity; _length = 0; }

    /// <summary>Characters written since the last <see cref="Clear"/>.</summary>
    public readonly int Length => _length;

    /// <inheritdoc/>
    public void Put(byte c)
    {
        if (_length < _capacity) _buffer[_length] = c;
        _length++;
    }

    /// <summary>Forgets what was written.</summary>
    public void Clear() => _length = 0;

    /// <summary>True when the text written equals <paramref name="s"/> exactly.</summary>
    public readonly bool Holds(string s)
    {
        if (_length != s.Length || _length > _capacity) return false;
        for (int i = 0; i < _length; i++)
            if (_buffer[i] != s[i]) return false;
        return true;
    }
}
