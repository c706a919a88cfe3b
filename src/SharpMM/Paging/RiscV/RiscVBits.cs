namespace SharpMM.Paging.RiscV;

/// <summary>
/// What Sv32 and Sv39 share: bits 7:0 of an entry (V R W X U G A D) mean the same in both, at
/// every level. A leaf made from portable flags always has R (every mapping is readable), and
/// W only with R, so it never hits the reserved W-without-R encoding.
/// </summary>
internal static class RiscVBits
{
    public const ulong Valid = 1UL << 0;
    public const ulong Read = 1UL << 1;
    public const ulong Write = 1UL << 2;
    public const ulong Execute = 1UL << 3;
    public const ulong User = 1UL << 4;
    public const ulong Global = 1UL << 5;
    public const ulong Accessed = 1UL << 6;
    public const ulong Dirty = 1UL << 7;
    public const ulong LeafMask = Read | Write | Execute;
    /// <summary>The bits <see cref="FromPortable"/> sets (R always).</summary>
    public const ulong PortableMask = Read | Write | Execute | User | Global | Accessed | Dirty;
    /// <summary>Portable flags RISC-V cannot express: cacheability comes from the platform's PMAs.</summary>
    public const PageFlags Ignored = PageFlags.WriteThrough | PageFlags.CacheDisable;

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
