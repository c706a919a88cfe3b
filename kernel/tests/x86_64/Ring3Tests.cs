using System;
using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// Ring 3 on the real CPU: small machine-code programs (their source in the comments, the bytes
/// from GNU as) run as processes through syscall/sysret, the scheduler, the page-fault path from
/// user mode and the kill path, with SMEP/SMAP on when the CPU has them. Each test checks what
/// the program wrote (captured), its wait status, and that every frame came back.
/// </summary>
internal static unsafe class Ring3Tests
{
    private const ulong Page = PageSize.Bytes;
    private static ref BuddyAllocator Buddy => ref PhysicalBoot.Memory.Buddy;

    private static int s_firstPid;
    private static int s_firstStatus;

    public static void RunAll(ref TestRunner r)
    {
        r.Run("ring 3: hello through write and exit (sysret, COM2 channel captured)", &Hello);
        r.Run("ring 3: NULL read kills with SIGSEGV (139), the kernel goes on, every frame back", &NullRead);
        r.Run("ring 3: ud2 kills with SIGILL", &InvalidOpcode);
        r.Run("ring 3: fork and wait4 (child runs while the parent waits, status 7 << 8)", &ForkWait);
        r.Run("ring 3: write from a kernel address is EFAULT", &WriteKernelAddress);
        r.Run("ring 3: stack growth and brk from user mode", &StackAndBrk);
    }

    // Hello:
    //   mov $1, %edi
    //   lea msg(%rip), %rsi
    //   mov $6, %edx
    //   mov $1, %eax
    //   syscall
    //   mov $3, %edi
    //   mov $60, %eax
    //   syscall
    //   msg: .ascii "hello\n"
    private static ReadOnlySpan<byte> HelloCode => new byte[] { 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x18, 0x00, 0x00, 0x00, 0xba, 0x06, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x03, 0x00, 0x00, 0x00, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a };

    // NullRead:
    //   xor %eax, %eax
    //   mov (%rax), %rax
    //   mov $60, %eax
    //   syscall
    private static ReadOnlySpan<byte> NullReadCode => new byte[] { 0x31, 0xc0, 0x48, 0x8b, 0x00, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05 };

    // InvalidOpcode:
    //   ud2
    private static ReadOnlySpan<byte> InvalidOpcodeCode => new byte[] { 0x0f, 0x0b };

    // ForkWait:
    //   mov $57, %eax
    //   syscall
    //   test %rax, %rax
    //   jnz parent
    //   mov $1, %edi
    //   lea cmsg(%rip), %rsi
    //   mov $6, %edx
    //   mov $1, %eax
    //   syscall
    //   mov $7, %edi
    //   mov $60, %eax
    //   syscall
    //   parent:
    //   sub $16, %rsp
    //   movq $0, (%rsp)
    //   mov $-1, %rdi
    //   mov %rsp, %rsi
    //   xor %edx, %edx
    //   xor %r10d, %r10d
    //   mov $61, %eax
    //   syscall
    //   mov %eax, %ebx
    //   mov $1, %edi
    //   lea pmsg(%rip), %rsi
    //   mov $7, %edx
    //   mov $1, %eax
    //   syscall
    //   mov (%rsp), %edi
    //   shr $8, %edi
    //   add $10, %edi
    //   mov $60, %eax
    //   syscall
    //   cmsg: .ascii "child\n"
    //   pmsg: .ascii "parent\n"
    private static ReadOnlySpan<byte> ForkWaitCode => new byte[] { 0xb8, 0x39, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x75, 0x24, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x64, 0x00, 0x00, 0x00, 0xba, 0x06, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x07, 0x00, 0x00, 0x00, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83, 0xec, 0x10, 0x48, 0xc7, 0x04, 0x24, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff, 0x48, 0x89, 0xe6, 0x31, 0xd2, 0x45, 0x31, 0xd2, 0xb8, 0x3d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x89, 0xc3, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x22, 0x00, 0x00, 0x00, 0xba, 0x07, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x8b, 0x3c, 0x24, 0xc1, 0xef, 0x08, 0x83, 0xc7, 0x0a, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x63, 0x68, 0x69, 0x6c, 0x64, 0x0a, 0x70, 0x61, 0x72, 0x65, 0x6e, 0x74, 0x0a };

    // WriteKernelAddress:
    //   mov $1, %edi
    //   movabs $0xffff800000000000, %rsi
    //   mov $4, %edx
    //   mov $1, %eax
    //   syscall
    //   neg %rax
    //   mov %eax, %edi
    //   mov $231, %eax
    //   syscall
    private static ReadOnlySpan<byte> WriteKernelAddressCode => new byte[] { 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xba, 0x04, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0xf7, 0xd8, 0x89, 0xc7, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05 };

    // StackAndBrk:
    //   sub $0x40000, %rsp
    //   movq $5, (%rsp)
    //   xor %edi, %edi
    //   mov $12, %eax
    //   syscall
    //   mov %rax, %rbx
    //   lea 0x3000(%rbx), %rdi
    //   mov $12, %eax
    //   syscall
    //   movq $9, 0x2ff8(%rbx)
    //   mov 0x2ff8(%rbx), %rdi
    //   add (%rsp), %rdi
    //   mov $231, %eax
    //   syscall
    private static ReadOnlySpan<byte> StackAndBrkCode => new byte[] { 0x48, 0x81, 0xec, 0x00, 0x00, 0x04, 0x00, 0x48, 0xc7, 0x04, 0x24, 0x05, 0x00, 0x00, 0x00, 0x31, 0xff, 0xb8, 0x0c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0xc3, 0x48, 0x8d, 0xbb, 0x00, 0x30, 0x00, 0x00, 0xb8, 0x0c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0xc7, 0x83, 0xf8, 0x2f, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x48, 0x8b, 0xbb, 0xf8, 0x2f, 0x00, 0x00, 0x48, 0x03, 0x3c, 0x24, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05 };

    private static void RecordExit(Process* p)
    {
        if (p->Pid == s_firstPid) s_firstStatus = p->WaitStatus;
    }

    /// <summary>Runs <paramref name="code"/> as a process (text at the layout's text base, an
    /// 8 MiB stack) until every process it made has exited; returns the first one's wait status
    /// and what the processes wrote.</summary>
    private static void Run(ref TestContext t, ReadOnlySpan<byte> code, byte* output, int capacity, out int status, out int written)
    {
        status = -1;
        written = 0;
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        if (Processes.Init(m) != Status.Ok) { t.Check(false, "process table made"); m->Destroy(); return; }
        UserMode.Init(true);
        Processes.OnExit = &RecordExit;
        Syscalls.ResetCounts(42);
        if (Processes.Create(0, out Process* p) != Status.Ok) { t.Check(false, "process created"); return; }
        ref var mem = ref Processes.Memory;
        t.Equal((ulong)mem.CreateSpace(&p->Space, m->Layout, KernelAddressSpace.Mapper.RootPhys), (ulong)Status.Ok, "space created");
        t.Equal((ulong)mem.Exec(&p->Space, (ulong)code.Length, 0, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "exec laid out text and stack");
        ulong text = p->Space.Layout.TextBase;
        FaultResult fr = mem.HandleFault(&p->Space, new PageFault(text, PageFaultErrorCode.User), ref KernelAddressSpace.Hooks);
        t.Check(fr.IsResolved, "text page populated");
        ulong e = p->Space.Entry(text);
        byte* dst = Platform.DirectMap.ToVirt(X86LongModeFormat.Address(0, e));
        for (int i = 0; i < code.Length; i++) dst[i] = code[i];
        p->Fds[0] = Process.FdConsoleIn;
        p->Fds[1] = Process.FdConsoleOut;
        p->Fds[2] = Process.FdConsoleErr;
        s_firstPid = p->Pid;
        s_firstStatus = -1;
        Processes.Start(p, text, p->Space.Layout.StackTop - 64);
        UserOutput.Capture(output, capacity);
        Processes.RunAll();
        written = UserOutput.CapturedLength;
        UserOutput.Capture(null, 0);
        UserMode.DisableProtection();
        status = s_firstStatus;
        Processes.OnExit = null;
        Processes.Shutdown();
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "every frame back (pages, tables, kernel stacks, the table)");
    }

    private static bool Same(byte* a, int n, string s)
    {
        if (n != s.Length) return false;
        for (int i = 0; i < n; i++) if (a[i] != (byte)s[i]) return false;
        return true;
    }

    private static void Hello(ref TestContext t)
    {
        byte* o = stackalloc byte[64];
        Run(ref t, HelloCode, o, 64, out int status, out int n);
        t.Check(Same(o, n, "hello\n"), "wrote hello\\n");
        t.Equal((ulong)status, 3 << 8, "exit(3): wait status 0x300");
        t.Equal(Syscalls.Count(Syscalls.Write), 1, "one write");
    }

    private static void NullRead(ref TestContext t)
    {
        byte* o = stackalloc byte[64];
        Run(ref t, NullReadCode, o, 64, out int status, out int n);
        t.Equal((ulong)status, (ulong)Signals.SIGSEGV, "killed by SIGSEGV");
        t.Equal((ulong)n, 0, "no output");
    }

    private static void InvalidOpcode(ref TestContext t)
    {
        byte* o = stackalloc byte[64];
        Run(ref t, InvalidOpcodeCode, o, 64, out int status, out _);
        t.Equal((ulong)status, (ulong)Signals.SIGILL, "killed by SIGILL");
    }

    private static void ForkWait(ref TestContext t)
    {
        byte* o = stackalloc byte[64];
        Run(ref t, ForkWaitCode, o, 64, out int status, out int n);
        t.Check(Same(o, n, "child\nparent\n"), "the child wrote first, then the parent after wait4");
        t.Equal((ulong)status, 17 << 8, "the parent exited with the child's code + 10");
        t.Equal(Syscalls.Count(Syscalls.Wait4), 2, "wait4 blocked once and ran again");
    }

    private static void WriteKernelAddress(ref TestContext t)
    {
        byte* o = stackalloc byte[64];
        Run(ref t, WriteKernelAddressCode, o, 64, out int status, out int n);
        t.Equal((ulong)status, 14 << 8, "write returned -EFAULT (14)");
        t.Equal((ulong)n, 0, "nothing written");
    }

    private static void StackAndBrk(ref TestContext t)
    {
        byte* o = stackalloc byte[64];
        Run(ref t, StackAndBrkCode, o, 64, out int status, out _);
        t.Equal((ulong)status, 14 << 8, "a value stored 256 KiB down the stack plus one past a grown break");
    }
}
