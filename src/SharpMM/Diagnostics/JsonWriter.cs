namespace SharpMM.Diagnostics;

/// <summary>
/// A minimal streaming JSON writer over a <see cref="TextWriter{TSink}"/> (allocation-free):
/// it tracks whether a comma is due at each nesting level (at most 32 deep). Strings are
/// written with the escapes JSON requires; numbers are unsigned integers.
/// </summary>
public unsafe struct JsonWriter<TSink> where TSink : struct, ITextSink
{
    private fixed bool _needComma[32];
    private int _depth;

    private void Separate(ref TextWriter<TSink> w)
    {
        if (_needComma[_depth]) w.Char(',');
        _needComma[_depth] = true;
    }

    private void Open(ref TextWriter<TSink> w, char c)
    {
        if (_depth >= 31) Panic.Fail("json: nesting too deep");
        w.Char(c);
        _depth++;
        _needComma[_depth] = false;
    }

    private void Close(ref TextWriter<TSink> w, char c)
    {
        if (_depth == 0) Panic.Fail("json: close without open");
        _depth--;
        w.Char(c);
    }

    /// <summary>Starts an object as a value (top level or array element).</summary>
    public void BeginObject(ref TextWriter<TSink> w) { Separate(ref w); Open(ref w, '{'); }
    /// <summary>Starts an object as the value of <paramref name="key"/>.</summary>
    public void BeginObject(ref TextWriter<TSink> w, string key) { Key(ref w, key); Open(ref w, '{'); }
    /// <summary>Ends the current object.</summary>
    public void EndObject(ref TextWriter<TSink> w) => Close(ref w, '}');
    /// <summary>Starts an array as a value.</summary>
    public void BeginArray(ref TextWriter<TSink> w) { Separate(ref w); Open(ref w, '['); }
    /// <summary>Starts an array as the value of <paramref name="key"/>.</summary>
    public void BeginArray(ref TextWriter<TSink> w, string key) { Key(ref w, key); Open(ref w, '['); }
    /// <summary>Ends the current array.</summary>
    public void EndArray(ref TextWriter<TSink> w) => Close(ref w, ']');

    private void Key(ref TextWriter<TSink> w, string key)
    {
        Separate(ref w);
        Quoted(ref w, key);
        w.Char(':');
    }

    /// <summary>"key": number.</summary>
    public void Number(ref TextWriter<TSink> w, string key, ulong value) { Key(ref w, key); w.Dec(value); }
    /// <summary>A number as an array element.</summary>
    public void Number(ref TextWriter<TSink> w, ulong value) { Separate(ref w); w.Dec(value); }
    /// <summary>"key": "string".</summary>
    public void String(ref TextWriter<TSink> w, string key, string value) { Key(ref w, key); Quoted(ref w, value); }
    /// <summary>"key": true|false.</summary>
    public void Bool(ref TextWriter<TSink> w, string key, bool value) { Key(ref w, key); w.Str(value ? "true" : "false"); }

    private static void Quoted(ref TextWriter<TSink> w, string s)
    {
        w.Char('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '"' || c == '\\') { w.Char('\\'); w.Char(c); }
            else if (c < ' ') { w.Str("\\u00"); w.HexDigits(c, 2); }
            else w.Char(c);
        }
        w.Char('"');
    }
}
