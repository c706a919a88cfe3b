namespace SharpMM.Kernel;

/// <summary>
/// The read-only files a run gives its program (Multiboot modules kept where the loader put
/// them; RAM the physical memory manager reserved), each under the path the program opens it by.
/// </summary>
internal static unsafe class RunFiles
{
    /// <summary>Most files a run may carry.</summary>
    public const int Max = 32;

    private struct Entry
    {
        public byte* Name;
        public int NameLength;
        public byte* Data;
        public ulong Size;
    }

    [System.Runtime.CompilerServices.InlineArray(Max)]
    private struct Entries { private Entry _e; }

    private static Entries s_files;
    private static int s_count;

    /// <summary>Files registered.</summary>
    public static int Count => s_count;

    /// <summary>Registers a file. Return: false when the table is full.</summary>
    public static bool Add(byte* name, int nameLength, byte* data, ulong size)
    {
        if (s_count >= Max) return false;
        s_files[s_count++] = new Entry { Name = name, NameLength = nameLength, Data = data, Size = size };
        return true;
    }

    /// <summary>The index of the file named <paramref name="path"/> (its bytes without the NUL),
    /// -1 when none is. A relative path is taken from "/" (the only working directory).</summary>
    public static int Find(byte* path, int length)
    {
        for (int i = 0; i < s_count; i++)
        {
            Entry e = s_files[i];
            byte* n = e.Name;
            int nl = e.NameLength;
            if (length > 0 && path[0] != '/' && nl > 0 && n[0] == '/') { n++; nl--; }
            if (nl != length) continue;
            bool same = true;
            for (int k = 0; k < length && same; k++) same = n[k] == path[k];
            if (same) return i;
        }
        return -1;
    }

    public static byte* Data(int i) => s_files[i].Data;
    public static ulong Size(int i) => s_files[i].Size;
}
