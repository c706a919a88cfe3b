using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// The read-only files a run gives its program (Multiboot modules kept where the loader put
/// them; RAM the physical memory manager reserved), each under the path the program opens it by.
/// Each file is a <see cref="FileImage"/>, so read() copies from it and a private mapping reads
/// its pages in on first touch; the images live in a vmalloc page of their own (they must not
/// move while a region names them) and stay for the rest of the run.
/// </summary>
internal static unsafe class RunFiles
{
    /// <summary>Most files a run may carry.</summary>
    public const int Max = 32;

    private struct Entry
    {
        public FileImage Image;
        public byte* Name;
        public int NameLength;
    }

    private static Entry* s_files;
    private static int s_count;

    /// <summary>Files registered.</summary>
    public static int Count => s_count;

    /// <summary>Makes the (empty) table. Return: Ok; OutOfMemory.</summary>
    public static Status Init()
    {
        KernelFrames kf = default;
        Status s = VmallocLargeMapper.Vm.Vmalloc((ulong)sizeof(Entry) * Max, ref kf, ref KernelAddressSpace.Hooks, out ulong va);
        if (s != Status.Ok) return s;
        s_files = (Entry*)va;
        s_count = 0;
        return Status.Ok;
    }

    /// <summary>Registers a file. Return: false when the table is full.</summary>
    public static bool Add(byte* name, int nameLength, byte* data, ulong size)
    {
        if (s_count >= Max) return false;
        s_files[s_count++] = new Entry { Image = new FileImage { Data = data, Length = size }, Name = name, NameLength = nameLength };
        return true;
    }

    /// <summary>The index of the file named <paramref name="path"/> (its bytes without the NUL),
    /// -1 when none is. A relative path is taken from "/" (the only working directory).</summary>
    public static int Find(byte* path, int length)
    {
        for (int i = 0; i < s_count; i++)
        {
            byte* n = s_files[i].Name;
            int nl = s_files[i].NameLength;
            if (length > 0 && path[0] != '/' && nl > 0 && n[0] == '/') { n++; nl--; }
            if (nl != length) continue;
            bool same = true;
            for (int k = 0; k < length && same; k++) same = n[k] == path[k];
            if (same) return i;
        }
        return -1;
    }

    /// <summary>File <paramref name="i"/>'s image (an index <see cref="Find"/> gave).</summary>
    public static FileImage* Image(int i) => &s_files[i].Image;
}
