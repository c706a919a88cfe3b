namespace System
{
    /// <summary>The primitive <c>double</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Double
    {
        private readonly double m_value;

        public bool Equals(double other) => m_value == other;
        public override bool Equals(object obj) => obj is double v && v == m_value;
        public override int GetHashCode() => 0;
    }
}
