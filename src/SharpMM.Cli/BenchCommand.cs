namespace SharpMM.Cli; internal static class BenchCommand { public static int Run(string[] a) => Program.Fail("bench: not built yet"); }
