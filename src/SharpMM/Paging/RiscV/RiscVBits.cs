namespace SharpMM.Paging.RiscV;

/// <summary>
/// What Sv32 and Sv39 share: bits 7:0 of an entry (V R W X U G A D) mean the same in both, at
/// every level. A leaf made from portable flags always has R (every mapping is readable), and
/// W only with R, so it never hits the reserved W-without-R encoding.
/// </summary>
internal static class RiscVBits
{
    public const ulong Valid = (ulong)RiscVPteFlags.Valid;
    public const ulong Read = (ulong)RiscVPteFlags.Read;
    public const ulong Write = (ulong)RiscVPteFlags.Write;
    public const ulong Execute = (ulong)RiscVPteFlags.Execute;
    public const ulong User = (ulong)RiscVPteFlags.User;
    public const ulong Global = (ulong)RiscVPteFlags.Global;
    public const ulong Accessed = (ulong)RiscVPteFlags.Accessed;
    public const ulong Dirty = (ulong)RiscVPteFlags.Dirty;
    public const ulong LeafMask = Read | Write | Execute;
    /// <summary>The bits <see cref="FromPortable"/> sets (R always).</summary>
    public const ulong PortableMask = Read | Write | Execute | User | Global | Accessed | Dirty;
    /// <summary>Portable flags RISC-V cannot express: cacheability comes from the platform's PMAs.</summary>
    public const PageFlags Ignored = PageFlags.WriteThrough | PageFlags.CacheDisable;

    /// <summary>The bits of <paramref name="flags"/>, which must all be among
    /// <paramref name="entryBits"/> (the entry kind's FlagMask): a flag the entry does not have
    /// (Svpbmt or Svnapot bits in a 4-byte Sv32 entry) panics instead of landing in the PPN.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static ulong Only(RiscVPteFlags flags, ulong entryBits)
    {
        if (((ulong)flags & ~entryBits) != 0) Panic.Fail("RISC-V entry: a flag this entry kind does not have", (ulong)flags);
        return (ulong)flags;
    }

    public static ulong FromPortable(PageFlags f)
    {
        ulong e = Read;
        if ((f & PageFlags.Writable) != 0) e |= Write;
        if ((f & PageFlags.Executable) != 0) e |= Execute;
        if ((f & PageFlags.User) != 0) e |= User;
        if ((f & PageFlags.Global) != 0) e |= Global;
        if ((f & PageFlags.Accessed) != 0) e |= Accessed;
        if ((f & PageFlags.Dirty) != 0) e |= Dirty;
        return e;
    }

    public static PageFlags ToPortable(ulong e)
    {
        PageFlags f = PageFlags.None;
        if ((e & Write) != 0) f |= PageFlags.Writable;
        if ((e & Execute) != 0) f |= PageFlags.Executable;
        if ((e & User) != 0) f |= PageFlags.User;
        if ((e & Global) != 0) f |= PageFlags.Global;
        if ((e & Accessed) != 0) f |= PageFlags.Accessed;
        if ((e & Dirty) != 0) f |= PageFlags.Dirty;
        return f;
    }

    public static bool IsLeaf(ulong e) => (e & Valid) != 0 && (e & LeafMask) != 0;
    /// <summary>Valid and none of R, W, X: the entry points at a table.</summary>
    public static bool IsPointer(ulong e) => (e & (Valid | LeafMask)) == Valid;

    public static string BitName(int bit) => bit switch
    {
        0 => "V", 1 => "R", 2 => "W", 3 => "X", 4 => "U", 5 => "G", 6 => "A", 7 => "D",
        8 => "RSW0", 9 => "RSW1", // reserved for software: the hardware ignores them
        61 => "PBMT0", 62 => "PBMT1", 63 => "N",
        _ => null,
    };
}
