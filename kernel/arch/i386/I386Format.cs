using SharpMM.Paging;
using SharpMM.Paging.X86;

namespace SharpMM.Kernel;

/// <summary>
/// The i386 kernel's page-table format: the library's <see cref="X86LegacyFormat"/> or
/// <see cref="X86PaeFormat"/>, chosen at boot (<see cref="PagingMode.Pae"/>). The mapper is
/// generic over its format, so one kernel image serves both modes by giving it this format,
/// whose every member asks the mode and answers with the chosen format's member; the encoding
/// of every entry is the library's. One difference is added: with PAE but without NX (EFER.NXE
/// clear) bit 63 of an entry is reserved, so every leaf is made executable there, as on legacy
/// paging.
/// </summary>
internal unsafe struct I386Format : IPagingFormat
{
    private static bool Pae => PagingMode.Pae;
    /// <summary>PAE without NX: the XD bit must stay clear.</summary>
    private static PageFlags Fix(PageFlags f) => PagingMode.Pae && !PagingMode.NoExecute ? f | PageFlags.Executable : f;

    public static string Name => Pae ? X86PaeFormat.Name : X86LegacyFormat.Name;
    public static int Levels => Pae ? X86PaeFormat.Levels : X86LegacyFormat.Levels;
    public static int EntrySize => Pae ? X86PaeFormat.EntrySize : X86LegacyFormat.EntrySize;
    public static int EntriesPerTable(int level) => Pae ? EntriesOf<X86PaeFormat>(level) : EntriesOf<X86LegacyFormat>(level);
    public static int IndexShift(int level) => Pae ? ShiftOf<X86PaeFormat>(level) : ShiftOf<X86LegacyFormat>(level);
    public static bool CanBeLeaf(int level) => Pae ? X86PaeFormat.CanBeLeaf(level) : X86LegacyFormat.CanBeLeaf(level);
    public static int VirtualBits => 32;
    public static bool IsCanonical(ulong va) => va <= uint.MaxValue;
    public static ulong Canonicalize(ulong va) => va & uint.MaxValue;
    public static ulong TablePhysLimit(int level) => Pae ? X86PaeFormat.TablePhysLimit(level) : X86LegacyFormat.TablePhysLimit(level);
    public static ulong LeafPhysLimit(int level) => Pae ? X86PaeFormat.LeafPhysLimit(level) : X86LegacyFormat.LeafPhysLimit(level);
    public static bool RootEntriesLatched => Pae ? X86PaeFormat.RootEntriesLatched : X86LegacyFormat.RootEntriesLatched;
    public static bool NewMappingNeedsFlush => false;
    public static bool SupportsRecursiveMapping => Pae ? X86PaeFormat.SupportsRecursiveMapping : X86LegacyFormat.SupportsRecursiveMapping;
    public static PageFlags Effective(PageFlags requested) => Pae ? Fix(X86PaeFormat.Effective(requested)) : X86LegacyFormat.Effective(requested);

    public static ulong Read(byte* table, int index) => Pae ? X86PaeFormat.Read(table, index) : X86LegacyFormat.Read(table, index);
    public static void Write(byte* table, int index, ulong entry)
    {
        if (Pae) X86PaeFormat.Write(table, index, entry);
        else X86LegacyFormat.Write(table, index, entry);
    }

    public static ulong MakeTable(int level, ulong tablePhys) => Pae ? X86PaeFormat.MakeTable(level, tablePhys) : X86LegacyFormat.MakeTable(level, tablePhys);
    public static ulong MakeLeaf(int level, ulong pagePhys, PageFlags flags) =>
        Pae ? X86PaeFormat.MakeLeaf(level, pagePhys, Fix(flags)) : X86LegacyFormat.MakeLeaf(level, pagePhys, flags);
    public static bool IsPresent(ulong entry) => (entry & 1) != 0;
    public static bool IsLeaf(int level, ulong entry) => Pae ? X86PaeFormat.IsLeaf(level, entry) : X86LegacyFormat.IsLeaf(level, entry);
    public static bool PointsToTable(int level, ulong entry) => Pae ? X86PaeFormat.PointsToTable(level, entry) : X86LegacyFormat.PointsToTable(level, entry);
    public static ulong TableAddress(ulong entry) => Pae ? TableAddressOf<X86PaeFormat>(entry) : TableAddressOf<X86LegacyFormat>(entry);

    // The library formats take these from IPagingFormat<TSelf>'s defaults, which are reached
    // through the interface (a type parameter), not as members of the format struct.
    private static int EntriesOf<T>(int level) where T : IPagingFormat => T.EntriesPerTable(level);
    private static int ShiftOf<T>(int level) where T : IPagingFormat => T.IndexShift(level);
    private static ulong TableAddressOf<T>(ulong entry) where T : IPagingFormat => T.TableAddress(entry);
    public static ulong Address(int level, ulong entry) => Pae ? X86PaeFormat.Address(level, entry) : X86LegacyFormat.Address(level, entry);
    public static PageFlags Flags(int level, ulong entry) => Pae ? X86PaeFormat.Flags(level, entry) : X86LegacyFormat.Flags(level, entry);
    public static PageFlags PointerRights(int level, ulong entry) => Pae ? X86PaeFormat.PointerRights(level, entry) : X86LegacyFormat.PointerRights(level, entry);
    public static ulong WithFlags(int level, ulong entry, PageFlags flags) =>
        Pae ? X86PaeFormat.WithFlags(level, entry, Fix(flags)) : X86LegacyFormat.WithFlags(level, entry, flags);
    public static ulong SplitLeaf(int level, ulong entry) => Pae ? X86PaeFormat.SplitLeaf(level, entry) : X86LegacyFormat.SplitLeaf(level, entry);
    public static ulong WithAddress(int level, ulong entry, ulong pagePhys) =>
        Pae ? X86PaeFormat.WithAddress(level, entry, pagePhys) : X86LegacyFormat.WithAddress(level, entry, pagePhys);
    public static string LevelName(int level) => Pae ? X86PaeFormat.LevelName(level) : X86LegacyFormat.LevelName(level);
    public static string BitName(int level, ulong entry, int bit) => Pae ? X86PaeFormat.BitName(level, entry, bit) : X86LegacyFormat.BitName(level, entry, bit);
}
