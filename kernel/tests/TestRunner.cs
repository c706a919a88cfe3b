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
///   N passed, M failed
/// </code>
/// A test that faults or panics ends the run (no unwinding): the exit status then says so.
/// </summary>
internal unsafe struct TestRunner
{
    /// <summary>Tests that passed.</summary>
    public int Passed;

    /// <summary>Tests that failed.</summary>
    public int Failed;

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

    /// <summary>Prints "N passed, M failed" on a line of its own.</summary>
    public readonly void PrintSummary()
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Dec((ulong)Passed);
        w.Str(" passed, ");
        w.Dec((ulong)Failed);
        w.Line(" failed");
    }
}
