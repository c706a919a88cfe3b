namespace SharpMM.Kernel;

/// <summary>One failed check of a kernel test: what was checked and, for comparisons, the values.</summary>
internal struct TestFailure
{
    public string What;
    public ulong Actual;
    public ulong Expected;
    public bool HasValues;
}
