namespace SharpMM.Kernel;

/// <summary>
/// The kernel command line (Multiboot cmdline, QEMU's -append). QEMU prepends the kernel's file
/// name, so the line reads "kernel/build/sharpmm.bin test=nullderef". Options are
/// space-separated "key=value" or bare words.
/// </summary>
internal readonly unsafe struct CommandLine
{
    private readonly byte* _text;
    private readonly int _length;

    /// <summary>Wraps a NUL-terminated string (null for none).</summary>
    public CommandLine(byte* text)
    {
        _text = text;
        int n = 0;
        if (text != null) while (n < 4096 && text[n] != 0) n++;
        _length = n;
    }

    /// <summary>The raw bytes.</summary>
    public byte* Text => _text;

    /// <summary>Length in bytes.</summary>
    public int Length => _length;

    /// <summary>True when one space-separated word equals <paramref name="word"/> exactly.</summary>
    public bool Has(string word)
    {
        int i = 0;
        while (i < _length)
        {
            while (i < _length && _text[i] == ' ') i++;
            int start = i;
            while (i < _length && _text[i] != ' ') i++;
            if (i - start == word.Length)
            {
                bool same = true;
                for (int k = 0; k < word.Length && same; k++) same = _text[start + k] == word[k];
                if (same) return true;
            }
        }
        return false;
    }
}
