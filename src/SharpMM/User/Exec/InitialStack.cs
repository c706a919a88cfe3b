using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User.Exec;

/// <summary>
/// Strings packed one after another, each with its NUL ("ls\0-l\0"): how the kernel holds argv
/// and envp between reading them from the old program (<see cref="UserCopy.StringFromUser"/>)
/// and writing them to the new one's stack.
/// </summary>
public unsafe struct StringList
{
    /// <summary>The packed strings (kernel memory).</summary>
    public byte* Bytes;
    /// <summary>Their length, every NUL included.</summary>
    public ulong Length;
    /// <summary>How many strings.</summary>
    public int Count;

    /// <summary>A list over <paramref name="bytes"/>.</summary>
    public StringList(byte* bytes, ulong length, int count) { Bytes = bytes; Length = length; Count = count; }

    /// <summary>True when the bytes hold exactly <see cref="Count"/> NUL-terminated strings,
    /// each at most <paramref name="maxString"/> bytes with its NUL.</summary>
    public readonly bool IsWellFormed(ulong maxString)
    {
        if (Count < 0 || (Length != 0 && Bytes == null)) return false;
        int n = 0;
        ulong start = 0;
        for (ulong i = 0; i < Length; i++)
        {
            if (Bytes[i] != 0) continue;
            if (i + 1 - start > maxString) return false;
            n++;
            start = i + 1;
        }
        return n == Count && start == Length;
    }
}

/// <summary>What the new program is told besides its image: its arguments and environment, the
/// name it was run as, 16 random bytes (AT_RANDOM: the C library's stack-protector canary and
/// pointer guard come from them) and its user and group ids.</summary>
public unsafe struct ExecArguments
{
    /// <summary>argv.</summary>
    public StringList Argv;
    /// <summary>envp.</summary>
    public StringList Envp;
    /// <summary>The path given to execve, NUL-terminated (AT_EXECFN); null: argv[0] (empty when there is none).</summary>
    public byte* ExecFn;
    /// <summary>16 random bytes (required).</summary>
    public byte* Random;
    /// <summary>AT_UID, AT_EUID, AT_GID, AT_EGID.</summary>
    public uint Uid, Euid, Gid, Egid;
}

/// <summary>
/// Builds the System V initial process stack (x86-64, or i386 for an ELF32 program) in a
/// space's stack region, as Linux's create_elf_tables does (fs/binfmt_elf.c, fs/exec.c). From
/// the stack top down, in words of the program's size (8 bytes for ELF64, 4 for ELF32):
/// <code>
///   StackTop - 8      8 zero bytes (end marker)
///                     the AT_EXECFN string
///                     envp strings, then below them argv strings (packed, in order)
///   (16-aligned)      "x86_64\0" or "i686\0" (AT_PLATFORM)
///                     16 random bytes (AT_RANDOM)
///   ...               padding, so that rsp is 16-aligned
///   rsp + word * (3 + argc + envc) ... auxv: (type, value) pairs, AT_NULL last
///                     NULL, envp[envc - 1] ... envp[0]   (ascending: envp[0] first)
///                     NULL, argv pointers
///   rsp               argc
/// </code>
/// The auxiliary vector, in Linux's order: AT_HWCAP 0, AT_PAGESZ 4096, AT_CLKTCK 100, AT_PHDR,
/// AT_PHENT, AT_PHNUM, AT_BASE 0 (no interpreter), AT_FLAGS 0, AT_ENTRY, AT_UID, AT_EUID,
/// AT_GID, AT_EGID, AT_SECURE 0, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL. No vDSO
/// (AT_SYSINFO_EHDR) and no random offset of the stack top (Linux's arch_align_stack).
/// Every byte goes in through <see cref="UserCopy"/>, so the stack region grows as a user's
/// pushes would make it. The stack is read-write, never executable, whatever PT_GNU_STACK asks.
/// </summary>
public static unsafe class InitialStack
{
    /// <summary>Longest single argument or environment string, its NUL included (Linux's MAX_ARG_STRLEN).</summary>
    public const ulong MaxStringBytes = 32 * PageSize.Bytes;

    /// <summary>Auxiliary vector types (include/uapi/linux/auxvec.h).</summary>
    public const ulong AtNull = 0, AtPhdr = 3, AtPhent = 4, AtPhnum = 5, AtPagesz = 6, AtBase = 7, AtFlags = 8, AtEntry = 9,
        AtUid = 11, AtEuid = 12, AtGid = 13, AtEgid = 14, AtPlatform = 15, AtHwcap = 16, AtClktck = 17, AtSecure = 23,
        AtRandom = 25, AtExecfn = 31;

    /// <summary>Number of (type, value) pairs written, AT_NULL included.</summary>
    public const int AuxPairs = 18;

    /// <summary>Clock ticks per second reported to the program (AT_CLKTCK, USER_HZ).</summary>
    public const ulong ClockTicks = 100;

    /// <summary>
    /// Maps the stack region of <paramref name="space"/> (below its layout's stack top, growing
    /// to the layout's maximum) and writes the initial stack of <paramref name="program"/> with
    /// <paramref name="args"/>; <paramref name="userRsp"/> is the first user RSP (argc there).
    /// Return: Ok; InvalidArgument (a list that is not packed NUL-terminated strings of its
    /// count, no random bytes); Overflow (a string longer than
    /// <see cref="MaxStringBytes"/>, or all of them with their pointers above a quarter of the
    /// stack's maximum, Linux's ARG_MAX rule: E2BIG); Overlap (a stack region is there already);
    /// OutOfMemory. On failure the stack region is gone again.
    /// </summary>
    public static Status Build<TFormat, TFrames, TStore, TArch>(ref UserMemory<TFormat, TFrames, TStore> mem, AddressSpace<TFormat>* space,
        in LoadedProgram program, in ExecArguments args, ref TArch arch, out ulong userRsp)
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        userRsp = 0;
        if (args.Random == null || !space->IsLive) return Status.InvalidArgument;
        ulong word = program.Is64 ? 8UL : 4UL;
        string platform = program.Is64 ? Platform : Platform32;
        // A list too long for the check below to count it is E2BIG, not a bad list.
        if (args.Argv.Length > MaxStringBytes * 1024 || args.Envp.Length > MaxStringBytes * 1024) return Status.Overflow;
        if (!args.Argv.IsWellFormed(ulong.MaxValue) || !args.Envp.IsWellFormed(ulong.MaxValue)) return Status.InvalidArgument;
        if (!args.Argv.IsWellFormed(MaxStringBytes) || !args.Envp.IsWellFormed(MaxStringBytes)) return Status.Overflow;

        byte* execFn = args.ExecFn != null ? args.ExecFn : args.Argv.Count > 0 ? args.Argv.Bytes : null;
        ulong execFnBytes = 1;
        if (execFn != null)
        {
            execFnBytes = 0;
            while (execFnBytes < MaxStringBytes && execFn[execFnBytes] != 0) execFnBytes++;
            if (execFnBytes == MaxStringBytes) return Status.Overflow;
            execFnBytes++;
        }
        UserLayout l = space->Layout;
        ulong argc = (ulong)args.Argv.Count, envc = (ulong)args.Envp.Count;
        ulong total = args.Argv.Length + args.Envp.Length + execFnBytes + (argc + envc + 2) * word;
        if (total > l.StackMaxBytes / 4) return Status.Overflow;

        // Addresses, top down.
        ulong p = l.StackTop - 8;
        ulong execFnVa = p -= execFnBytes;
        ulong envVa = p -= args.Envp.Length;
        ulong argVa = p -= args.Argv.Length;
        p &= ~15UL;
        ulong platformVa = p -= (ulong)platform.Length + 1;
        ulong randomVa = p -= 16;
        ulong words = 1 + (argc + 1) + (envc + 1) + 2 * AuxPairs;
        ulong rsp = (p - words * word) & ~15UL;

        Status s = mem.MapStack(space, l.StackTop, l.StackMaxBytes, VmaProtection.ReadWrite);
        if (s != Status.Ok) return s;
        ulong zero = 0;
        s = UserCopy.ToUser(ref mem, space, l.StackTop - 8, (byte*)&zero, 8, ref arch);
        if (s == Status.Ok)
            s = execFn != null ? UserCopy.ToUser(ref mem, space, execFnVa, execFn, execFnBytes, ref arch)
                               : UserCopy.ToUser(ref mem, space, execFnVa, (byte*)&zero, 1, ref arch);
        if (s == Status.Ok) s = UserCopy.ToUser(ref mem, space, envVa, args.Envp.Bytes, args.Envp.Length, ref arch);
        if (s == Status.Ok) s = UserCopy.ToUser(ref mem, space, argVa, args.Argv.Bytes, args.Argv.Length, ref arch);
        if (s == Status.Ok) s = WritePlatform(ref mem, space, platformVa, platform, ref arch);
        if (s == Status.Ok) s = UserCopy.ToUser(ref mem, space, randomVa, args.Random, 16, ref arch);

        var w = new Words<TFormat, TFrames, TStore, TArch> { Space = space, At = rsp, Bytes = word, Status = s };
        w.Put(ref mem, argc, ref arch);
        w.Pointers(ref mem, args.Argv, argVa, ref arch);
        w.Pointers(ref mem, args.Envp, envVa, ref arch);
        w.Aux(ref mem, AtHwcap, 0, ref arch);
        w.Aux(ref mem, AtPagesz, PageSize.Bytes, ref arch);
        w.Aux(ref mem, AtClktck, ClockTicks, ref arch);
        w.Aux(ref mem, AtPhdr, program.PhdrVa, ref arch);
        w.Aux(ref mem, AtPhent, (ulong)program.PhEntrySize, ref arch);
        w.Aux(ref mem, AtPhnum, (ulong)program.PhCount, ref arch);
        w.Aux(ref mem, AtBase, 0, ref arch);
        w.Aux(ref mem, AtFlags, 0, ref arch);
        w.Aux(ref mem, AtEntry, program.Entry, ref arch);
        w.Aux(ref mem, AtUid, args.Uid, ref arch);
        w.Aux(ref mem, AtEuid, args.Euid, ref arch);
        w.Aux(ref mem, AtGid, args.Gid, ref arch);
        w.Aux(ref mem, AtEgid, args.Egid, ref arch);
        w.Aux(ref mem, AtSecure, 0, ref arch);
        w.Aux(ref mem, AtRandom, randomVa, ref arch);
        w.Aux(ref mem, AtExecfn, execFnVa, ref arch);
        w.Aux(ref mem, AtPlatform, platformVa, ref arch);
        w.Aux(ref mem, AtNull, 0, ref arch);
        s = w.Status;
        if (s == Status.Ok && w.At != rsp + words * word) Panic.Fail("initial stack: the words written do not fill the block counted", w.At - rsp);
        if (s != Status.Ok)
        {
            Status u = mem.Unmap(space, l.StackLimit, l.StackMaxBytes, ref arch);
            if (u != Status.Ok) Panic.Fail("initial stack: the stack region could not be removed again", (ulong)u);
            return s;
        }
        userRsp = rsp;
        return Status.Ok;
    }

    /// <summary>AT_PLATFORM's string for x86-64.</summary>
    public const string Platform = "x86_64";
    /// <summary>AT_PLATFORM's string for i386 (what a 32-bit Linux kernel on a P6 or later says).</summary>
    public const string Platform32 = "i686";

    private static Status WritePlatform<TFormat, TFrames, TStore, TArch>(ref UserMemory<TFormat, TFrames, TStore> mem, AddressSpace<TFormat>* space, ulong va, string platform, ref TArch arch)
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        // The name and its NUL, little-endian in one word (a string literal's bytes are UTF-16).
        ulong text = 0;
        for (int i = 0; i < platform.Length; i++) text |= (ulong)(byte)platform[i] << (8 * i);
        return UserCopy.ToUser(ref mem, space, va, (byte*)&text, (ulong)platform.Length + 1, ref arch);
    }

    // Writes words of `Bytes` (8 or 4, little-endian: the low bytes of the value) upwards from
    // `At`, stopping at the first failure (kept in Status).
    private struct Words<TFormat, TFrames, TStore, TArch>
        where TFormat : struct, IPagingFormat where TFrames : struct, Physical.IFrameTableAllocator where TStore : struct, IBackingStore where TArch : struct, IArchHooks
    {
        public AddressSpace<TFormat>* Space;
        public ulong At;
        public ulong Bytes;
        public Status Status;

        public void Put(ref UserMemory<TFormat, TFrames, TStore> mem, ulong value, ref TArch arch)
        {
            if (Status == Status.Ok) Status = UserCopy.ToUser(ref mem, Space, At, (byte*)&value, Bytes, ref arch);
            At += Bytes;
        }

        public void Aux(ref UserMemory<TFormat, TFrames, TStore> mem, ulong type, ulong value, ref TArch arch)
        {
            Put(ref mem, type, ref arch);
            Put(ref mem, value, ref arch);
        }

        // The user address of each string of `list` (copied to `va`), then NULL.
        public void Pointers(ref UserMemory<TFormat, TFrames, TStore> mem, in StringList list, ulong va, ref TArch arch)
        {
            ulong start = 0;
            for (ulong i = 0; i < list.Length; i++)
            {
                if (list.Bytes[i] != 0) continue;
                Put(ref mem, va + start, ref arch);
                start = i + 1;
            }
            Put(ref mem, 0, ref arch);
        }
    }
}
