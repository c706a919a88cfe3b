namespace SharpMM.Kernel;

/// <summary>
/// Passed to each kernel test: the checks a test makes. A test keeps going after a failed check
/// (so one run shows every broken expectation); the first <see cref="MaxRecorded"/> failures are
/// printed under the test's line.
/// </summary>
internal struct TestContext
{
    public const int MaxRecorded = 8;

    private TestFailures _failures;
    private int _failureCount;

    /// <summary>Number of failed checks so far.</summary>
    public readonly int FailureCount => _failureCount;

    /// <summary>Fails the test with <paramref name="what"/> when <paramref name="condition"/> is false.</summary>
    public void Check(bool condition, string what)
    {
        if (condition) return;
        Record(what, 0, 0, false);
    }

    /// <summary>Fails the test when <paramref name="actual"/> != <paramref name="expected"/>, printing both.</summary>
    public void Equal(ulong actual, ulong expected, string what)
    {
        if (actual == expected) return;
        Record(what, actual, expected, true);
    }

    private void Record(string what, ulong actual, ulong expected, bool hasValues)
    {
        if (_failureCount < MaxRecorded)
        {
            _failures[_failureCount].What = what;
            _failures[_failureCount].Actual = actual;
            _failures[_failureCount].Expected = expected;
            _failures[_failureCount].HasValues = hasValues;
        }
        _failureCount++;
    }

    /// <summary>Failure <paramref name="i"/> (i below min(FailureCount, MaxRecorded)).</summary>
    public readonly TestFailure Failure(int i) => _failures[i];
}
