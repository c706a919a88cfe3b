using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User.Exec;

/// <summary>What <see cref="ProgramLoader.Load"/> placed where: the addresses the initial stack
/// (<see cref="InitialStack"/>) and the first return to user mode need.</summary>
public struct LoadedProgram
{
    /// <summary>Where the program starts (e_entry plus the load bias): the first user RIP.</summary>
    public ulong Entry;
    /// <summary>The program headers in the loaded image (AT_PHDR).</summary>
    public ulong PhdrVa;
    /// <summary>Number of program headers (AT_PHNUM).</summary>
    public int PhCount;
    /// <summary>Size of one program header (AT_PHENT).</summary>
    public int PhEntrySize;
    /// <summary>What was added to every address of the file (the load base for ET_DYN, 0 for ET_EXEC).</summary>
    public ulong LoadBias;
    /// <summary>The image's first page.</summary>
    public ulong ImageStart;
    /// <summary>The page-aligned end of the highest segment: where the brk heap starts.</summary>
    public ulong BrkStart;
    /// <summary>ELF64 (8-byte stack words) or ELF32 (4-byte).</summary>
    public bool Is64;
}

/// <summary>
/// Loads a parsed <see cref="ElfImage"/> into an empty address space:
/// <code>
///   per PT_LOAD   one anonymous region [vaddr rounded down, vaddr + memsz rounded up) + bias,
///                 the file's p_filesz bytes copied in at vaddr + bias (the pages they touch are
///                 populated now, through the fault path), the rest zero (bss: never-touched
///                 pages stay demand-zero), then the segment's rights: R, RW or RX
///   bias          ET_EXEC: 0 (the file's addresses); ET_DYN: the load base given (page-aligned;
///                 Linux puts static PIEs at 2/3 of TASK_SIZE, <see cref="DefaultPieBase"/>)
///   brk           starts (empty) at the page-aligned end of the highest segment
/// </code>
/// Pages that hold no segment bytes but share a page with one (the head of a segment whose
/// p_vaddr is not page-aligned, the tail after its last byte) read zero here, where Linux's
/// mmap of the file would show the neighbouring file bytes; programs do not read them.
/// W^X: the parser refuses a segment both writable and executable, so no page is ever both.
/// A failure leaves the space empty (every region and frame of the half-loaded program gone).
/// </summary>
public static unsafe class ProgramLoader
{
    /// <summary>Where Linux puts an x86-64 static PIE (ELF_ET_DYN_BASE, 2/3 of TASK_SIZE, page-aligned).</summary>
    public const ulong DefaultPieBase = 0x555555554000;
    /// <summary>Where Linux puts an i386 static PIE (ELF_ET_DYN_BASE for 32-bit tasks: 4 MiB).</summary>
    public const ulong DefaultPieBase32 = 0x00400000;

    /// <summary>
    /// Loads <paramref name="image"/> into <paramref name="space"/> (live, without regions).
    /// <paramref name="loadBase"/>: where address 0 of an ET_DYN image goes (ignored for ET_EXEC).
    /// Return: Ok and <paramref name="program"/>; InvalidArgument (a space with regions, an
    /// image that did not parse); Misaligned (load base); OutOfRange (a segment outside the
    /// space's user space once placed); Overlap (a segment in the stack's reach); OutOfMemory;
    /// NoSpace (the region table is full).
    /// </summary>
    public static Status Load<TFormat, TFrames, TStore, TArch>(ref UserMemory<TFormat, TFrames, TStore> mem, AddressSpace<TFormat>* space,
        in ElfImage image, ulong loadBase, ref TArch arch, out LoadedProgram program)
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        program = default;
        if (!space->IsLive || space->Regions.Count != 0 || image.Problem != ElfProblem.None || image.LoadCount == 0) return Status.InvalidArgument;
        ulong bias = 0;
        if (image.IsPositionIndependent)
        {
            if (!PageSize.IsAligned(loadBase)) return Status.Misaligned;
            bias = loadBase;
        }
        UserLayout l = space->Layout;
        ulong stackReach = l.StackLimit - l.GuardGapBytes;
        for (int i = 0; i < image.LoadCount; i++)
        {
            Status r = Placed(image.Load(i), bias, out ulong start, out ulong end);
            if (r != Status.Ok) return r;
            if (!l.IsUserRange(start, end)) return Status.OutOfRange;
            if (end > stackReach) return Status.Overlap;
        }

        Status s = Status.Ok;
        for (int i = 0; i < image.LoadCount && s == Status.Ok; i++)
        {
            ElfSegment seg = image.Load(i);
            Placed(seg, bias, out ulong start, out ulong end);
            // Writable while the bytes go in; the segment's own rights once they are there.
            s = mem.MapAnonymous(space, start, end - start, VmaProtection.ReadWrite, out _);
            if (s == Status.Ok && seg.FileBytes != 0)
                s = UserCopy.ToUser(ref mem, space, seg.Vaddr + bias, image.File + seg.Offset, seg.FileBytes, ref arch);
        }
        for (int i = 0; i < image.LoadCount && s == Status.Ok; i++)
        {
            ElfSegment seg = image.Load(i);
            Placed(seg, bias, out ulong start, out ulong end);
            if (seg.Protection != VmaProtection.ReadWrite) s = mem.Protect(space, start, end - start, seg.Protection, ref arch);
        }
        if (s != Status.Ok)
        {
            mem.Reset(space, ref arch);
            return s;
        }
        Placed(image.Load(image.LoadCount - 1), bias, out _, out ulong imageEnd);
        space->BrkStart = space->Brk = imageEnd;
        program.Entry = image.Entry + bias;
        program.PhdrVa = image.PhdrVaddr + bias;
        program.PhCount = image.PhCount;
        program.PhEntrySize = image.PhEntrySize;
        program.LoadBias = bias;
        program.ImageStart = image.ImageStart + bias;
        program.BrkStart = imageEnd;
        program.Is64 = image.Is64;
        return Status.Ok;
    }

    // The pages [start, end) segment `s` occupies once moved by `bias`. Return: Ok; OutOfRange (wraps).
    private static Status Placed(in ElfSegment s, ulong bias, out ulong start, out ulong end)
    {
        start = end = 0;
        ulong lo = s.Vaddr + bias;
        if (lo < bias) return Status.OutOfRange;
        ulong hi = lo + s.MemoryBytes;
        if (hi < lo || !PageSize.TryAlignUp(hi, out end)) return Status.OutOfRange;
        start = PageSize.AlignDown(lo);
        return Status.Ok;
    }
}
