using System.Runtime.CompilerServices;
using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The deliberate failures behind the kernel's test= switches: each makes one access the MMU
/// must refuse (or runs out of stack) and expects the exception path to report it and exit;
/// getting past the access is a failure of its own (a panic naming it). KernelMain runs
/// test=nullderef on every architecture; Platform.DeliberateFailures wires the others where the
/// architecture has what they need (a kernel stack with a guard page, no-execute pages).
/// </summary>
internal static unsafe class DeliberateFaults
{
    private static ulong s_nullAddress;

    /// <summary>test=nullderef: reads address 0. The page-fault handler reports and exits; getting
    /// past the read means page 0 is mapped, which is a failure of its own.</summary>
    public static void NullDereference()
    {
        Log.Line("test=nullderef: reading address 0, expecting a page fault with CR2=0x0000000000000000");
        ulong value = *Opaque((ulong*)s_nullAddress);
        KernelPanic.Fail("test=nullderef: reading address 0 did not fault, it read", value);
    }

    /// <summary>test=stackoverflow: recursion that runs into the guard page below the kernel stack.</summary>
    public static void StackOverflow()
    {
        Log.Line("test=stackoverflow: recursing into the kernel stack guard page, expecting a double fault");
        ulong sum = Recurse(0);
        KernelPanic.Fail("test=stackoverflow: recursion returned", sum);
    }

    /// <summary>test=guardpage: one write to the guard page below the kernel stack (at <paramref name="guard"/>), from well
    /// above it: a plain #PF (the CPU can push its frame), not-present write.</summary>
    public static void GuardPage(ulong guard)
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test=guardpage: writing to the kernel stack guard page at ");
        w.Hex(guard, 16);
        w.Line(", expecting a page fault [not-present write]");
        *Opaque((ulong*)(guard + 0x800)) = 0x6A7D;
        KernelPanic.Fail("test=guardpage: writing the guard page did not fault");
    }

    /// <summary>test=writetext: a write to the first byte of this method's own code (kernel text,
    /// mapped read-only): #PF, protection write.</summary>
    public static void WriteText()
    {
        ulong target = (ulong)(delegate*<void>)&WriteText;
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test=writetext: writing to kernel text at ");
        w.Hex(target, 16);
        w.Line(", expecting a page fault [protection write]");
        *(byte*)Opaque((ulong*)target) = 0xCC;
        KernelPanic.Fail("test=writetext: writing kernel text did not fault");
    }

    private static ulong s_execBuffer;

    /// <summary>test=execdata: calls a ret instruction stored in .bss (mapped no-execute): #PF,
    /// protection fetch, with RIP and CR2 at the buffer.</summary>
    public static void ExecuteData()
    {
        fixed (ulong* p = &s_execBuffer)
        {
            *(byte*)p = 0xC3;
            TextWriter<SerialSink> w = Log.Writer();
            w.Str("test=execdata: calling a ret in .bss at ");
            w.Hex((ulong)p, 16);
            w.Line(", expecting a page fault [protection fetch]");
            ((delegate* unmanaged<void>)Opaque(p))();
        }
        KernelPanic.Fail("test=execdata: executing .bss did not fault");
    }

    /// <summary>Recursion into the running stack's guard page, without a line of its own (the
    /// caller says what it expects: test=apstackoverflow on another CPU).</summary>
    public static void StackOverflowHere()
    {
        ulong sum = Recurse(0);
        KernelPanic.Fail("stack overflow: recursion returned", sum);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Recurse(ulong depth)
    {
        byte* frame = stackalloc byte[256];
        frame[depth & 255] = (byte)depth;
        // Not a tail call: the addition needs this frame after the recursive call returns.
        return Recurse(depth + 1) + frame[(depth * 7) & 255];
    }

    /// <summary>Hides the pointer's value from the optimiser so the load is really emitted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong* Opaque(ulong* p) => p;
}
