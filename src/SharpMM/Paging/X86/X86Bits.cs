using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// What the three x86 formats share: bits 1-6 and 8 mean the same in every x86 entry that maps
/// a page (R/W, U/S, PWT, PCD, A, D, G), and XD is bit 63 where it exists, so the portable
/// <see cref="PageFlags"/> convert the same way everywhere. Bit 7 (PS in a directory entry, PAT
/// in a PTE) and bit 12 (PAT in a large page) are not portable flags and are never touched here.
/// </summary>
internal static class X86Bits
{
    public const ulong Present = (ulong)X86EntryFlags.Present;
    public const ulong Writable = (ulong)X86EntryFlags.Writable;
    public const ulong User = (ulong)X86EntryFlags.User;
    public const ulong WriteThrough = (ulong)X86EntryFlags.WriteThrough;
    public const ulong CacheDisable = (ulong)X86EntryFlags.CacheDisable;
    public const ulong Accessed = (ulong)X86EntryFlags.Accessed;
    public const ulong Dirty = (ulong)X86EntryFlags.Dirty;
    public const ulong PageSize = (ulong)X86EntryFlags.PageSize;
    public const ulong Global = (ulong)X86EntryFlags.Global;
    public const ulong LargePat = (ulong)X86EntryFlags.LargePat;
    public const ulong PtePat = (ulong)X86EntryFlags.PtePat;
    public const ulong ExecuteDisable = (ulong)X86EntryFlags.ExecuteDisable;
    public const ulong ProtectionKeyMask = 0x7800_0000_0000_0000;

    /// <summary>The bits of <paramref name="flags"/>, which must all be among
    /// <paramref name="entryBits"/> (the entry kind's FlagMask): a flag the entry kind does not
    /// have (XD in a 32-bit entry, R/W in a PAE PDPTE...) panics instead of landing in an
    /// address or reserved bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Only(X86EntryFlags flags, ulong entryBits)
    {
        if (((ulong)flags & ~entryBits) != 0) Panic.Fail("x86 entry: a flag this entry kind does not have", (ulong)flags);
        return (ulong)flags;
    }

    /// <summary>P set and PS clear, in one test: one less than the entry has both bits clear
    /// exactly then (P clear makes bit 0 of the difference 1, PS set keeps bit 7 of it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPresentNotLarge(ulong entry) => ((entry - 1) & (Present | PageSize)) == 0;

    /// <summary>The bits <see cref="FromPortable"/> may set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong PortableMask(XdBit xd) =>
        Writable | User | WriteThrough | CacheDisable | Accessed | Dirty | Global | (xd == XdBit.Present ? ExecuteDisable : 0);

    // PageFlags bit -> x86 bit: Writable 0 -> 1, User 1 -> 2, Executable 2 -> XD 63 (inverted),
    // Global 3 -> 8, WriteThrough 4 -> 3, CacheDisable 5 -> 4, Accessed 6 -> 5, Dirty 7 -> 6.
    // Shifts and masks instead of a branch per flag.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong FromPortable(PageFlags f, XdBit xd)
    {
        ulong u = (uint)f;
        ulong e = ((u & 0x03) << 1) | ((u >> 1) & 0x78) | ((u & 0x08) << 5);
        if (xd == XdBit.Present) e |= (~u & 0x04) << 61;
        return e;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PageFlags ToPortable(ulong e, XdBit xd)
    {
        ulong f = ((e >> 1) & 0x03) | ((e & 0x78) << 1) | ((e >> 5) & 0x08);
        f |= xd == XdBit.Present ? (~e >> 61) & 0x04 : 0x04;
        return (PageFlags)(uint)f;
    }

    /// <summary>Bit names shared by the x86 formats; <paramref name="leaf"/> and
    /// <paramref name="largeLeaf"/> say which form the entry has (D, G, PAT only mean something
    /// in a leaf; bit 7 is PS above level 0 and PAT in a PTE).</summary>
    public static string BitName(int level, int bit, bool leaf, bool largeLeaf, bool bit7IsPs)
    {
        switch (bit)
        {
            case 0: return "P";
            case 1: return "RW";
            case 2: return "US";
            case 3: return "PWT";
            case 4: return "PCD";
            case 5: return "A";
            case 6: return leaf ? "D" : null;
            case 7: return level == 0 ? "PAT" : bit7IsPs ? "PS" : null;
            case 8: return leaf ? "G" : null;
            // Ignored by the MMU, free for software (Linux's _PAGE_BIT_SOFTW1..3): named so a
            // walk shows what software stored there.
            case 9: return "SW1";
            case 10: return "SW2";
            case 11: return "SW3";
            case 12: return largeLeaf ? "PAT" : null;
            case 63: return "XD";
            default: return null;
        }
    }
}
