using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using SharpMM.Paging;
using SharpMM.User.Exec;

namespace SharpMM.Tests.User.Exec;

/// <summary>
/// What the initial-stack tests of both word sizes share: a user fixture on
/// <typeparamref name="TFormat"/>'s tables, unmanaged copies of the strings and random bytes
/// handed to <see cref="InitialStack.Build"/> (freed with the fixture), and reading a string back
/// as the process sees it.
/// </summary>
public abstract unsafe class InitialStackTestBase<TFormat> : IDisposable where TFormat : struct, IPagingFormat
{
    protected readonly UserFixture<TFormat> f = new();
    protected readonly List<IntPtr> _memory = new();

    public void Dispose()
    {
        foreach (var p in _memory) Marshal.FreeHGlobal(p);
        f.Dispose();
    }

    protected byte* Pinned(byte[] b)
    {
        IntPtr m = Marshal.AllocHGlobal(Math.Max(b.Length, 1));
        Marshal.Copy(b, 0, m, b.Length);
        _memory.Add(m);
        return (byte*)m;
    }

    protected StringList List(params string[] strings)
    {
        var bytes = new List<byte>();
        foreach (string s in strings) { bytes.AddRange(Encoding.UTF8.GetBytes(s)); bytes.Add(0); }
        return new StringList(Pinned(bytes.ToArray()), (ulong)bytes.Count, strings.Length);
    }

    // Byte by byte through aligned 8-byte user reads, so that no read crosses into the page
    // above a string that ends at the top of the stack.
    protected string UserString(ulong va)
    {
        var sb = new List<byte>();
        for (; ; va++)
        {
            byte b = (byte)(f.MustRead(va & ~7UL) >> (int)(8 * (va & 7)));
            if (b == 0) return Encoding.UTF8.GetString(sb.ToArray());
            sb.Add(b);
        }
    }
}
