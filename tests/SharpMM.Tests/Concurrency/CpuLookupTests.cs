using System;
using System.Runtime.CompilerServices;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Concurrency;

/// <summary>How a hosted thread finds its CPU: from the stack pointer inside a CPU thread's
/// mapped stack range (or any range given to a CPU with Cpu.MapStack, as the kernel gives each
/// CPU's kernel stack), from the thread static everywhere else.</summary>
[Collection(CpuCollection.Name)]
public sealed unsafe class CpuLookupTests
{
    // Frames of 64 KiB: 200 of them reach 12.5 MiB below the first, past the mapped range's
    // start granule and through a dozen granule boundaries.
    private const int FrameBytes = 64 << 10;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int WrongLevel(int expected, int levels)
    {
        byte* frame = stackalloc byte[FrameBytes];
        frame[0] = (byte)levels;
        if (Cpu.Current != expected) return levels;
        int deeper = levels == 0 ? -1 : WrongLevel(expected, levels - 1);
        // (Read back so that the frame's bytes are kept.)
        return frame[0] == (byte)levels ? deeper : levels;
    }

    [Fact]
    public void EveryCpuThread_SeesItsOwnIndex_AtEveryDepthOfItsStack()
    {
        var wrong = new int[8];
        HostedCpus.Run(8, cpu => wrong[cpu] = WrongLevel(cpu, 200));
        Assert.Equal(new[] { -1, -1, -1, -1, -1, -1, -1, -1 }, wrong);
    }

    // The fast paths find their CPU inline only through CurrentWithoutCall: a CPU thread's work
    // must run where it answers (HostedCpus.AsCpu runs it below the granule its top cuts), and
    // a thread of no CPU must get -1 (it is CPU 0 through the thread static, with a call).
    [Fact]
    public void CurrentWithoutCall_AnswersInEveryCpuThreadsWork_AndMinusOneElsewhere()
    {
        var seen = new int[4];
        HostedCpus.Run(4, cpu => seen[cpu] = Cpu.CurrentWithoutCall + 100);
        Assert.Equal(new[] { 100, 101, 102, 103 }, seen);
        Assert.Equal(-1, Cpu.CurrentWithoutCall);
        Assert.Equal(0, Cpu.Current);
    }

    [Fact]
    public void ThreadsOutsideRun_GetTheThreadStatic_WhileCpuThreadsRun()
    {
        int unbound = -1, bound = -1;
        using var running = new ManualResetEventSlim();
        using var checkedOutside = new ManualResetEventSlim();
        var outside = new Thread(() =>
        {
            running.Wait();
            unbound = Cpu.Current;
            HostedCpus.Bind(5);
            bound = Cpu.Current;
            checkedOutside.Set();
        }, HostedCpus.CpuThreadStack);
        outside.Start();
        HostedCpus.Run(3, cpu =>
        {
            if (cpu != 2) return;
            running.Set();
            checkedOutside.Wait();
        });
        outside.Join();
        Assert.Equal(0, unbound);
        Assert.Equal(5, bound);
    }

    [Fact]
    public void Binding_InsideACpuThread_ChangesWhatItsMappedStackAnswers()
    {
        var seen = new int[2];
        HostedCpus.Run(2, cpu =>
        {
            HostedCpus.Bind(cpu + 6);
            seen[cpu] = WrongLevel(cpu + 6, 20) == -1 ? Cpu.Current : -1;
        });
        Assert.Equal(new[] { 6, 7 }, seen);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int CurrentInACallee() => Cpu.Current;

    [Fact]
    public void AnUnmappedStack_AnswersFromTheThreadStatic_AgainAfterUnbind()
    {
        int mapped = -1, afterUnbind = -1;
        var t = new Thread(() =>
        {
            byte top;
            Cpu.BindThisStack(9, &top, 1 << 20);
            mapped = CurrentInACallee();
            Cpu.UnbindThisStack();
            // A rebind without a range changes only the thread static: a stale map entry would
            // still answer 9.
            Cpu.BindThisThread(4);
            afterUnbind = CurrentInACallee();
            Cpu.BindThisThread(0);
        }, HostedCpus.CpuThreadStack);
        t.Start();
        t.Join();
        Assert.Equal(9, mapped);
        Assert.Equal(4, afterUnbind);
    }

    // Cpu.CurrentWithoutCall in a frame below the start of the stack-map granule that holds
    // `top` (the granule a range's top cuts has no entry).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int WithoutCallBelowGranuleOf(byte* top)
    {
        int skip = (int)((ulong)top - Cpu.StackMapFloor(top)) + 64;
        byte* below = stackalloc byte[skip];
        below[0] = 1;
        return WithoutCallIn(below);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int WithoutCallIn(byte* kept) => kept[0] == 1 ? Cpu.CurrentWithoutCall : -3;

    // The kernel's way: a range registered for a CPU (as each CPU's kernel stack is), whichever
    // thread runs on it, with no thread static involved; forgotten again by UnmapStack.
    [Fact]
    public void MapStack_GivesARangeToACpu_AndUnmapStackTakesItBack()
    {
        int before = -2, mapped = -2, after = -2, current = -2;
        var t = new Thread(() =>
        {
            byte top;
            ulong high = (ulong)&top + 1, low = high - (4 << 20);
            before = WithoutCallBelowGranuleOf(&top);
            Cpu.MapStack(11, low, high);
            try
            {
                mapped = WithoutCallBelowGranuleOf(&top);
            }
            finally
            {
                Cpu.UnmapStack(low, high);
            }
            after = WithoutCallBelowGranuleOf(&top);
            current = Cpu.Current;
        }, HostedCpus.CpuThreadStack);
        t.Start();
        t.Join();
        Assert.Equal(-1, before);
        Assert.Equal(11, mapped);
        Assert.Equal(-1, after);
        Assert.Equal(0, current); // the thread static, never bound
    }

    [Fact]
    public void MapStack_RefusesACpuBeyondMaxCpus_AndAnEmptyRange()
    {
        Assert.Throws<PanicException>(() => Cpu.MapStack(Cpu.MaxCpus, 1UL << 30, 2UL << 30));
        Assert.Throws<PanicException>(() => Cpu.MapStack(1, 2UL << 30, 2UL << 30));
        Assert.Throws<PanicException>(() => Cpu.MapStack(1, 3UL << 30, 2UL << 30));
        Assert.Throws<PanicException>(() => Cpu.UnmapStack(2UL << 30, 2UL << 30));
        Assert.Equal(-1, Cpu.CurrentWithoutCall);
    }

    [Fact]
    public void ARangeThatDoesNotHoldTheCaller_Panics()
    {
        byte top;
        byte* here = &top;
        Assert.Throws<PanicException>(() => Cpu.BindThisStack(1, here - (4 << 20), 1 << 20));
        Assert.Throws<PanicException>(() => Cpu.BindThisStack(1, here, 0));
        Assert.Equal(0, Cpu.Current);
    }
}
