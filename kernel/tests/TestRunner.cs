using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The in-kernel test harness. Each test is a static method taking a <see cref="TestContext"/>:
/// <code>
///   private static void DirectMapReachesRam(ref TestContext t) { t.Check(..., "what"); t.Equal(a, b, "what"); }
///   runner.Run("direct map reaches the end of RAM", &amp;DirectMapReachesRam);
/// </code>
/// Output, one line per test, failed checks indented under a failed test, then the summary that
/// test.sh and CI read:
/// <code>
///   test NAME ... ok
///   test NAME ... FAILED
///       check failed: WHAT (got 0x1, expected 0x2)
///   test NAME ... skipped: needs 16 MiB of RAM, the guest has 4 MiB
///   N passed, M failed[, K skipped]
/// </code>
/// A test that needs more RAM than a small guest has says so with its minimum
/// (<see cref="Run(string, delegate*{ref TestContext, void}, ulong)"/>): it is skipped with the
/// reason, not failed, and the summary counts it.
/// A test that faults or panics ends the run (no unwinding): the exit status then says so.
/// </summary>
internal unsafe struct TestRunner
{
    /// <summary>Tests that passed.</summary>
    public int Passed;

    /// <summary>Tests that failed.</summary>
    public int Failed;

    /// <summary>Tests skipped because the guest has less RAM than they need.</summary>
    public int Skipped;

    /// <summary>Runs one test that needs at least <paramref name="minimumRamBytes"/> of RAM
    /// (present frames): on a smaller guest it is skipped with the reason.</summary>
    public void Run(string name, delegate*<ref TestContext, void> test, ulong minimumRamBytes)
    {
        ulong present = PhysicalBoot.Memory.PresentFrames << SharpMM.Addressing.PageSize.Shift;
        if (present >= minimumRamBytes) { Run(name, test); return; }
        Skipped++;
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test "); w.Str(name); w.Str(" ... skipped: needs "); w.Size(minimumRamBytes);
        w.Str(" of RAM, the guest has "); w.Size(present); w.Line();
    }

    /// <summary>Runs one test and prints its line.</summary>
    public void Run(string name, delegate*<ref TestContext, void> test)
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test ");
        w.Str(name);
        w.Str(" ... ");
        TestContext t = default;
        test(ref t);
        if (t.FailureCount == 0)
        {
            Passed++;
            w.Line("ok");
            return;
        }
        Failed++;
        w.Line("FAILED");
        int shown = t.FailureCount < TestContext.MaxRecorded ? t.FailureCount : TestContext.MaxRecorded;
        for (int i = 0; i < shown; i++)
        {
            TestFailure f = t.Failure(i);
            w.Str("    check failed: ");
            w.Str(f.What);
            if (f.HasValues)
            {
                w.Str(" (got ");
                w.Hex(f.Actual);
                w.Str(", expected ");
                w.Hex(f.Expected);
                w.Char(')');
            }
            w.Line();
        }
        if (t.FailureCount > shown)
        {
            w.Str("    ... ");
            w.Dec((ulong)(t.FailureCount - shown));
            w.Line(" more");
        }
    }

    /// <summary>Prints "N passed, M failed" on a line of its own (", K skipped" when some were).</summary>
    public readonly void PrintSummary()
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Dec((ulong)Passed);
        w.Str(" passed, ");
        w.Dec((ulong)Failed);
        w.Str(" failed");
        if (Skipped != 0) { w.Str(", "); w.Dec((ulong)Skipped); w.Str(" skipped"); }
        w.Line();
    }
}
