using SharpMM.Addressing;

namespace SharpMM.User.Exec;

/// <summary>One program header, in the same form for both classes.</summary>
public struct ElfSegment
{
    /// <summary>p_type (<see cref="ElfImage.PtLoad"/>...).</summary>
    public uint Type;
    /// <summary>p_flags: <see cref="ElfImage.PfX"/>, <see cref="ElfImage.PfW"/>, <see cref="ElfImage.PfR"/>.</summary>
    public uint Flags;
    /// <summary>p_offset: where the segment's bytes start in the file.</summary>
    public ulong Offset;
    /// <summary>p_vaddr: where they go (relative to the load base for ET_DYN).</summary>
    public ulong Vaddr;
    /// <summary>p_filesz: bytes from the file.</summary>
    public ulong FileBytes;
    /// <summary>p_memsz: bytes in memory (the rest after the file bytes is zero: bss).</summary>
    public ulong MemoryBytes;
    /// <summary>p_align.</summary>
    public ulong Align;

    /// <summary>The rights of the segment's pages (p_flags as mmap's PROT_* bits).</summary>
    public readonly VmaProtection Protection =>
        ((Flags & ElfImage.PfR) != 0 ? VmaProtection.Read : VmaProtection.None)
        | ((Flags & ElfImage.PfW) != 0 ? VmaProtection.Write : VmaProtection.None)
        | ((Flags & ElfImage.PfX) != 0 ? VmaProtection.Execute : VmaProtection.None);
}

/// <summary>
/// A static executable held in memory, parsed and checked: an ELF64 x86-64 or ELF32 i386 file
/// of type ET_EXEC (linked at fixed addresses, e.g. 0x400000) or ET_DYN (a static PIE, placed at a
/// load base by <see cref="ProgramLoader"/>). Parsing reads the file only and keeps a pointer to
/// it (the file must outlive the image). What the loader needs is checked here, so loading a
/// parsed image fails only for reasons of memory or layout:
/// <code>
///   ELF header      magic, class (64: EM_X86_64; 32: EM_386), little-endian, EV_CURRENT,
///                   ET_EXEC or ET_DYN, header sizes of the class
///   program headers 1..MaxProgramHeaders, all inside the file
///   PT_LOAD         p_filesz &lt;= p_memsz, file bytes inside the file, p_vaddr = p_offset mod 4096,
///                   p_align 0, 1 or a power of two, ascending and not sharing a page, inside the
///                   class's user space, never writable and executable (W^X), at most MaxLoadSegments
///   PT_INTERP       refused (dynamic linking is not supported)
///   PT_PHDR         where the program headers are in memory (else the PT_LOAD whose file bytes
///                   cover e_phoff): AT_PHDR must point at them
///   PT_TLS          reported (the C library sets its thread pointer up from it); PT_GNU_STACK: X reported
///   e_entry         inside an executable PT_LOAD
/// </code>
/// Every refusal is a status with an <see cref="ElfProblem"/> naming the rule and the index of
/// the program header at fault: Unsupported for a well-formed file this loader does not run
/// (other machine, byte order or type, a dynamic linker, W+X, too many headers), Malformed for
/// the rest. Nothing the file holds can make parsing read outside it or crash.
/// </summary>
public unsafe struct ElfImage
{
    /// <summary>Most program headers accepted (static executables have about ten; Linux's own
    /// limit is 64 KiB of headers).</summary>
    public const int MaxProgramHeaders = 128;
    /// <summary>Most PT_LOAD segments (with bytes in memory) accepted.</summary>
    public const int MaxLoadSegments = 16;

    /// <summary>p_type values.</summary>
    public const uint PtLoad = 1, PtDynamic = 2, PtInterp = 3, PtPhdr = 6, PtTls = 7, PtGnuStack = 0x6474E551;
    /// <summary>p_flags bits.</summary>
    public const uint PfX = 1, PfW = 2, PfR = 4;
    /// <summary>e_machine values.</summary>
    public const ushort EmI386 = 3, EmX86_64 = 62;
    /// <summary>e_type values.</summary>
    public const ushort EtExec = 2, EtDyn = 3;

    /// <summary>One past the highest user address of an ELF64 x86-64 program (the lower
    /// canonical half less its top page, as Linux's TASK_SIZE).</summary>
    public const ulong UserEnd64 = 0x00007FFFFFFFF000;
    /// <summary>One past the highest user address of an ELF32 i386 program (a 3 GiB user space).</summary>
    public const ulong UserEnd32 = 0xC0000000;

    /// <summary>The file (not copied: it must outlive the image).</summary>
    public byte* File;
    /// <summary>Its length in bytes.</summary>
    public ulong Length;
    /// <summary>ELFCLASS64 (else ELFCLASS32).</summary>
    public bool Is64;
    /// <summary>e_machine: <see cref="EmX86_64"/> or <see cref="EmI386"/>.</summary>
    public ushort Machine;
    /// <summary>ET_DYN: every address below is relative to the load base.</summary>
    public bool IsPositionIndependent;
    /// <summary>e_entry.</summary>
    public ulong Entry;
    /// <summary>e_phoff, e_phnum, e_phentsize.</summary>
    public ulong PhOffset;
    /// <summary>Number of program headers.</summary>
    public int PhCount;
    /// <summary>Size of one program header (56 for ELF64, 32 for ELF32).</summary>
    public int PhEntrySize;
    /// <summary>Where the program headers are in the loaded image (AT_PHDR, less the base).</summary>
    public ulong PhdrVaddr;
    /// <summary>PT_TLS was present: its template is <see cref="Tls"/>.</summary>
    public bool HasTls;
    /// <summary>The TLS template (the C library reads it through AT_PHDR itself).</summary>
    public ElfSegment Tls;
    /// <summary>PT_GNU_STACK asks for an executable stack (the stack is mapped read-write anyway: W^X).</summary>
    public bool ExecutableStack;
    /// <summary>PT_LOAD segments with bytes in memory, in address order.</summary>
    public int LoadCount;
    /// <summary>Why parsing failed (None when it did not).</summary>
    public ElfProblem Problem;
    /// <summary>The program header at fault, -1 when the problem is not one header's.</summary>
    public int ProblemHeader;
    private fixed ushort _loads[MaxLoadSegments];

    /// <summary>The <paramref name="i"/>-th loaded segment (0 &lt;= i &lt; <see cref="LoadCount"/>).</summary>
    public readonly ElfSegment Load(int i)
    {
        if ((uint)i >= (uint)LoadCount) Panic.Fail("elf: load segment index out of range", (ulong)i);
        return Header(_loads[i]);
    }

    /// <summary>Program header <paramref name="index"/>, read from the file (checked by Parse to lie inside it).</summary>
    public readonly ElfSegment Header(int index)
    {
        byte* h = File + PhOffset + (ulong)index * (ulong)PhEntrySize;
        ElfSegment s;
        s.Type = U32(h);
        if (Is64)
        {
            s.Flags = U32(h + 4); s.Offset = U64(h + 8); s.Vaddr = U64(h + 16);
            s.FileBytes = U64(h + 32); s.MemoryBytes = U64(h + 40); s.Align = U64(h + 48);
        }
        else
        {
            s.Offset = U32(h + 4); s.Vaddr = U32(h + 8); s.FileBytes = U32(h + 16);
            s.MemoryBytes = U32(h + 20); s.Flags = U32(h + 24); s.Align = U32(h + 28);
        }
        return s;
    }

    /// <summary>Lowest address of the image, page-aligned down (relative for ET_DYN).</summary>
    public readonly ulong ImageStart => PageSize.AlignDown(Load(0).Vaddr);
    /// <summary>One past the image's last byte in memory (relative for ET_DYN), not page-aligned.</summary>
    public readonly ulong ImageEnd { get { ElfSegment s = Load(LoadCount - 1); return s.Vaddr + s.MemoryBytes; } }

    /// <summary>
    /// Parses and checks the executable at <paramref name="file"/> (<paramref name="length"/>
    /// bytes). Return: Ok; Malformed or Unsupported with <see cref="Problem"/> and
    /// <see cref="ProblemHeader"/> set (and <see cref="Reason"/> for the sentence).
    /// </summary>
    public static Status Parse(byte* file, ulong length, out ElfImage image)
    {
        image = default;
        image.File = file;
        image.Length = length;
        image.ProblemHeader = -1;
        ElfProblem p = image.Check();
        image.Problem = p;
        if (p == ElfProblem.None) return Status.Ok;
        image.LoadCount = 0;
        return IsUnsupported(p) ? Status.Unsupported : Status.Malformed;
    }

    private static bool IsUnsupported(ElfProblem p) =>
        p is ElfProblem.WrongByteOrder or ElfProblem.WrongMachine or ElfProblem.WrongType or ElfProblem.DynamicallyLinked
            or ElfProblem.TooManyProgramHeaders or ElfProblem.TooManySegments or ElfProblem.WritableAndExecutable;

    private ElfProblem Check()
    {
        byte* f = File;
        if (Length < 16) return ElfProblem.TruncatedHeader;
        if (f[0] != 0x7F || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F') return ElfProblem.BadMagic;
        if (f[4] != 1 && f[4] != 2) return ElfProblem.WrongClass;
        Is64 = f[4] == 2;
        ulong headerBytes = Is64 ? 64UL : 52UL;
        if (Length < headerBytes) return ElfProblem.TruncatedHeader;
        if (f[5] != 1) return ElfProblem.WrongByteOrder;
        if (f[6] != 1 || U32(f + 20) != 1) return ElfProblem.WrongVersion;
        Machine = U16(f + 18);
        if (Machine != (Is64 ? EmX86_64 : EmI386)) return ElfProblem.WrongMachine;
        ushort type = U16(f + 16);
        if (type != EtExec && type != EtDyn) return ElfProblem.WrongType;
        IsPositionIndependent = type == EtDyn;
        Entry = Is64 ? U64(f + 24) : U32(f + 24);
        PhOffset = Is64 ? U64(f + 32) : U32(f + 28);
        ulong ehsize = U16(f + (Is64 ? 52 : 40));
        PhEntrySize = U16(f + (Is64 ? 54 : 42));
        PhCount = U16(f + (Is64 ? 56 : 44));
        if (ehsize != headerBytes || PhEntrySize != (Is64 ? 56 : 32)) return ElfProblem.BadHeaderSize;
        if (PhCount == 0) return ElfProblem.NoProgramHeaders;
        if (PhCount > MaxProgramHeaders) return ElfProblem.TooManyProgramHeaders;
        ulong table = (ulong)PhCount * (ulong)PhEntrySize;
        if (PhOffset > Length || table > Length - PhOffset) return ElfProblem.ProgramHeadersPastEnd;

        ulong userEnd = Is64 ? UserEnd64 : UserEnd32;
        bool havePhdr = false, haveStack = false;
        ulong prevStart = 0, prevEnd = 0;
        for (int i = 0; i < PhCount; i++)
        {
            ElfSegment s = Header(i);
            ProblemHeader = i;
            switch (s.Type)
            {
                case PtInterp:
                    return ElfProblem.DynamicallyLinked;
                case PtPhdr:
                    if (havePhdr) return ElfProblem.DuplicateHeader;
                    havePhdr = true;
                    PhdrVaddr = s.Vaddr;
                    break;
                case PtTls:
                    if (HasTls) return ElfProblem.DuplicateHeader;
                    if (s.FileBytes > s.MemoryBytes || !InsideFile(s.Offset, s.FileBytes)) return ElfProblem.BadTls;
                    HasTls = true;
                    Tls = s;
                    break;
                case PtGnuStack:
                    if (haveStack) return ElfProblem.DuplicateHeader;
                    haveStack = true;
                    ExecutableStack = (s.Flags & PfX) != 0;
                    break;
                case PtLoad:
                    if (s.FileBytes > s.MemoryBytes) return ElfProblem.FileSizeAboveMemorySize;
                    if (!InsideFile(s.Offset, s.FileBytes)) return ElfProblem.SegmentPastEnd;
                    if (s.Align > 1 && (s.Align & (s.Align - 1)) != 0 || (s.Vaddr & PageSize.OffsetMask) != (s.Offset & PageSize.OffsetMask))
                        return ElfProblem.BadAlignment;
                    if (s.MemoryBytes == 0) break; // maps nothing (Linux skips it too)
                    if (s.Vaddr >= userEnd || s.MemoryBytes > userEnd - s.Vaddr || !IsPositionIndependent && s.Vaddr < PageSize.Bytes)
                        return ElfProblem.SegmentOutsideUserSpace;
                    if ((s.Flags & PfW) != 0 && (s.Flags & PfX) != 0) return ElfProblem.WritableAndExecutable;
                    if (LoadCount > 0)
                    {
                        if (s.Vaddr < prevStart) return ElfProblem.SegmentsUnsorted;
                        if (PageSize.AlignDown(s.Vaddr) < PageSize.AlignDown(prevEnd + PageSize.OffsetMask)) return ElfProblem.SegmentsOverlap;
                    }
                    if (LoadCount == MaxLoadSegments) return ElfProblem.TooManySegments;
                    _loads[LoadCount++] = (ushort)i;
                    prevStart = s.Vaddr;
                    prevEnd = s.Vaddr + s.MemoryBytes;
                    break;
            }
        }
        ProblemHeader = -1;
        if (LoadCount == 0) return ElfProblem.NoLoadSegments;

        bool entryInText = false, phdrLoaded = false, tlsInside = !HasTls;
        for (int i = 0; i < LoadCount; i++)
        {
            ElfSegment s = Load(i);
            if ((s.Flags & PfX) != 0 && Entry >= s.Vaddr && Entry - s.Vaddr < s.MemoryBytes) entryInText = true;
            if (havePhdr)
            {
                if (PhdrVaddr >= s.Vaddr && PhdrVaddr - s.Vaddr <= s.FileBytes && table <= s.FileBytes - (PhdrVaddr - s.Vaddr)) phdrLoaded = true;
            }
            else if (!phdrLoaded && PhOffset >= s.Offset && PhOffset - s.Offset <= s.FileBytes && table <= s.FileBytes - (PhOffset - s.Offset))
            {
                PhdrVaddr = s.Vaddr + (PhOffset - s.Offset);
                phdrLoaded = true;
            }
            // The template's file bytes (.tdata) must be loaded; .tbss takes no room in the segment.
            if (HasTls && Tls.Vaddr >= s.Vaddr && Tls.Vaddr - s.Vaddr <= s.MemoryBytes && Tls.FileBytes <= s.MemoryBytes - (Tls.Vaddr - s.Vaddr))
                tlsInside = true;
        }
        if (!entryInText) return ElfProblem.EntryOutsideText;
        if (!phdrLoaded) return ElfProblem.ProgramHeadersNotLoaded;
        if (!tlsInside) return ElfProblem.BadTls;
        return ElfProblem.None;
    }

    private readonly bool InsideFile(ulong offset, ulong bytes) => offset <= Length && bytes <= Length - offset;

    /// <summary>A sentence for <paramref name="p"/> (a literal: nothing is allocated).</summary>
    public static string Reason(ElfProblem p) => p switch
    {
        ElfProblem.None => "a loadable executable",
        ElfProblem.TruncatedHeader => "shorter than its ELF header",
        ElfProblem.BadMagic => "not an ELF file (bad magic)",
        ElfProblem.WrongClass => "neither ELFCLASS64 nor ELFCLASS32",
        ElfProblem.WrongByteOrder => "not little-endian",
        ElfProblem.WrongVersion => "ELF version is not EV_CURRENT",
        ElfProblem.WrongMachine => "not an x86-64 (ELF64) or i386 (ELF32) executable",
        ElfProblem.WrongType => "neither ET_EXEC nor ET_DYN",
        ElfProblem.BadHeaderSize => "e_ehsize or e_phentsize is not the class's size",
        ElfProblem.NoProgramHeaders => "no program headers",
        ElfProblem.TooManyProgramHeaders => "too many program headers",
        ElfProblem.ProgramHeadersPastEnd => "program header table past the end of the file",
        ElfProblem.DynamicallyLinked => "dynamically linked (PT_INTERP): not supported, link with -static",
        ElfProblem.DuplicateHeader => "a second PT_PHDR, PT_TLS or PT_GNU_STACK",
        ElfProblem.FileSizeAboveMemorySize => "segment p_filesz above p_memsz",
        ElfProblem.SegmentPastEnd => "segment bytes past the end of the file",
        ElfProblem.BadAlignment => "segment p_align not a power of two, or p_vaddr and p_offset differ modulo the page size",
        ElfProblem.SegmentOutsideUserSpace => "segment outside user space",
        ElfProblem.SegmentsUnsorted => "PT_LOAD segments not in ascending address order",
        ElfProblem.SegmentsOverlap => "PT_LOAD segments overlap or share a page",
        ElfProblem.TooManySegments => "too many PT_LOAD segments",
        ElfProblem.NoLoadSegments => "no PT_LOAD segment",
        ElfProblem.WritableAndExecutable => "a segment both writable and executable (W^X)",
        ElfProblem.EntryOutsideText => "entry point outside every executable segment",
        ElfProblem.ProgramHeadersNotLoaded => "program headers not inside a loaded segment",
        ElfProblem.BadTls => "bad PT_TLS segment",
        _ => "unknown problem",
    };

    private static ushort U16(byte* p) => (ushort)(p[0] | p[1] << 8);
    private static uint U32(byte* p) => (uint)(p[0] | p[1] << 8 | p[2] << 16 | p[3] << 24);
    private static ulong U64(byte* p) => U32(p) | (ulong)U32(p + 4) << 32;
}
