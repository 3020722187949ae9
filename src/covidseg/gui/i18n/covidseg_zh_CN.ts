<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../app.py" line="143"/>
        <source>Open a CT image, a folder of slices, a NIfTI volume or a DICOM series
(File ▸ Open, or drop it here).</source>
        <translation>打开 CT 图像、切片文件夹、NIfTI 体数据或 DICOM 序列
（文件 ▸ 打开，或拖放到此处）。</translation>
    </message>
    <message>
        <location filename="../app.py" line="177"/>
        <source>Overlay</source>
        <translation>叠加显示</translation>
    </message>
    <message>
        <location filename="../app.py" line="178"/>
        <source>Lung outline</source>
        <translation>肺轮廓</translation>
    </message>
    <message>
        <location filename="../app.py" line="179"/>
        <location filename="../app.py" line="537"/>
        <source>Ground-glass opacity (GGO)</source>
        <translation>磨玻璃影 (GGO)</translation>
    </message>
    <message>
        <location filename="../app.py" line="180"/>
        <source>Consolidation</source>
        <translation>实变</translation>
    </message>
    <message>
        <location filename="../app.py" line="195"/>
        <source>Opacity</source>
        <translation>不透明度</translation>
    </message>
    <message>
        <location filename="../app.py" line="209"/>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../app.py" line="234"/>
        <source>&amp;Open file…</source>
        <translation>打开文件(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="235"/>
        <source>Open an image, NIfTI volume or DICOM file</source>
        <translation>打开图像、NIfTI 体数据或 DICOM 文件</translation>
    </message>
    <message>
        <location filename="../app.py" line="236"/>
        <source>Open &amp;folder…</source>
        <translation>打开文件夹(&amp;F)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="237"/>
        <location filename="../app.py" line="431"/>
        <source>Open a DICOM series or a folder of slices</source>
        <translation>打开 DICOM 序列或切片文件夹</translation>
    </message>
    <message>
        <location filename="../app.py" line="238"/>
        <source>&amp;Segment</source>
        <translation>分割(&amp;S)</translation>
    </message>
    <message>
        <location filename="../app.py" line="239"/>
        <source>Segment lung, lesions and lesion types</source>
        <translation>分割肺、病灶及病灶类型</translation>
    </message>
    <message>
        <location filename="../app.py" line="240"/>
        <source>&amp;Cancel</source>
        <translation>取消(&amp;C)</translation>
    </message>
    <message>
        <location filename="../app.py" line="241"/>
        <source>Stop the running job</source>
        <translation>停止正在运行的任务</translation>
    </message>
    <message>
        <location filename="../app.py" line="242"/>
        <source>&amp;Report (PDF, HTML, JSON, CSV)…</source>
        <translation>报告 (PDF, HTML, JSON, CSV)(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="243"/>
        <source>Save the report</source>
        <translation>保存报告</translation>
    </message>
    <message>
        <location filename="../app.py" line="244"/>
        <source>Current &amp;view as PNG…</source>
        <translation>当前视图另存为 PNG(&amp;V)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="246"/>
        <source>Masks as &amp;PNG…</source>
        <translation>掩膜导出为 PNG(&amp;P)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="247"/>
        <source>Masks as &amp;NIfTI…</source>
        <translation>掩膜导出为 NIfTI(&amp;N)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="248"/>
        <source>Masks as &amp;DICOM-SEG…</source>
        <translation>掩膜导出为 DICOM-SEG(&amp;D)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="250"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../app.py" line="251"/>
        <source>&amp;Preferences…</source>
        <translation>首选项(&amp;P)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="253"/>
        <source>&amp;Fit to window</source>
        <translation>适应窗口(&amp;F)</translation>
    </message>
    <message>
        <location filename="../app.py" line="254"/>
        <source>Show &amp;original beside the overlay</source>
        <translation>在叠加图旁显示原图(&amp;O)</translation>
    </message>
    <message>
        <location filename="../app.py" line="258"/>
        <source>Previous slice</source>
        <translation>上一层</translation>
    </message>
    <message>
        <location filename="../app.py" line="259"/>
        <source>Next slice</source>
        <translation>下一层</translation>
    </message>
    <message>
        <location filename="../app.py" line="260"/>
        <source>&amp;About covidseg</source>
        <translation>关于 covidseg(&amp;A)</translation>
    </message>
    <message>
        <location filename="../app.py" line="265"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../app.py" line="268"/>
        <source>Open &amp;recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <location filename="../app.py" line="271"/>
        <source>&amp;Export</source>
        <translation>导出(&amp;E)</translation>
    </message>
    <message>
        <location filename="../app.py" line="279"/>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <location filename="../app.py" line="282"/>
        <source>&amp;Window preset</source>
        <translation>窗宽窗位预设(&amp;W)</translation>
    </message>
    <message>
        <location filename="../app.py" line="283"/>
        <source>Lung (L -600, W 1500)</source>
        <translation>肺窗 (L -600, W 1500)</translation>
    </message>
    <message>
        <location filename="../app.py" line="284"/>
        <source>Mediastinum (L 40, W 400)</source>
        <translation>纵隔窗 (L 40, W 400)</translation>
    </message>
    <message>
        <location filename="../app.py" line="290"/>
        <source>&amp;Segmentation</source>
        <translation>分割(&amp;S)</translation>
    </message>
    <message>
        <location filename="../app.py" line="294"/>
        <source>Se&amp;ttings</source>
        <translation>设置(&amp;T)</translation>
    </message>
    <message>
        <location filename="../app.py" line="296"/>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <location filename="../app.py" line="299"/>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../app.py" line="307"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../app.py" line="310"/>
        <source>Main</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <location filename="../app.py" line="361"/>
        <source>Please wait: another task is running (or cancel it).</source>
        <translation>请稍候：另一个任务正在运行（或将其取消）。</translation>
    </message>
    <message>
        <location filename="../app.py" line="395"/>
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
    <message>
        <location filename="../app.py" line="410"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../app.py" line="425"/>
        <source>Open CT image</source>
        <translation>打开 CT 图像</translation>
    </message>
    <message>
        <location filename="../app.py" line="453"/>
        <source>Reading %1</source>
        <translation>正在读取 %1</translation>
    </message>
    <message>
        <location filename="../app.py" line="474"/>
        <source>Hounsfield units</source>
        <translation>亨氏单位 (HU)</translation>
    </message>
    <message>
        <location filename="../app.py" line="474"/>
        <source>grey levels</source>
        <translation>灰度值</translation>
    </message>
    <message>
        <location filename="../app.py" line="475"/>
        <source>Opened %1 (%2, %3, %4)</source>
        <translation>已打开 %1（%2，%3，%4）</translation>
    </message>
    <message>
        <location filename="../app.py" line="481"/>
        <source>Choose a series</source>
        <translation>选择序列</translation>
    </message>
    <message>
        <location filename="../app.py" line="482"/>
        <source>This folder holds several CT series. Open:</source>
        <translation>该文件夹包含多个 CT 序列。打开：</translation>
    </message>
    <message>
        <location filename="../app.py" line="503"/>
        <source>Open an image first.</source>
        <translation>请先打开图像。</translation>
    </message>
    <message>
        <location filename="../app.py" line="518"/>
        <source>Segmenting</source>
        <translation>正在分割</translation>
    </message>
    <message>
        <location filename="../app.py" line="529"/>
        <source>Segmented in %1 s</source>
        <translation>分割完成，用时 %1 秒</translation>
    </message>
    <message>
        <location filename="../app.py" line="537"/>
        <source>Lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../app.py" line="579"/>
        <source>Save report</source>
        <translation>保存报告</translation>
    </message>
    <message>
        <location filename="../app.py" line="585"/>
        <source>Save masks into folder</source>
        <translation>将掩膜保存到文件夹</translation>
    </message>
    <message>
        <location filename="../app.py" line="591"/>
        <source>Save view</source>
        <translation>保存视图</translation>
    </message>
    <message>
        <location filename="../app.py" line="605"/>
        <source>Saving report</source>
        <translation>正在保存报告</translation>
    </message>
    <message>
        <location filename="../app.py" line="614"/>
        <source>Saving masks</source>
        <translation>正在保存掩膜</translation>
    </message>
    <message>
        <location filename="../app.py" line="648"/>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <location filename="../app.py" line="668"/>
        <source>The language changes the next time covidseg starts.</source>
        <translation>语言将在下次启动 covidseg 时生效。</translation>
    </message>
    <message>
        <location filename="../app.py" line="672"/>
        <source>About covidseg</source>
        <translation>关于 covidseg</translation>
    </message>
    <message>
        <location filename="../app.py" line="673"/>
        <source>&lt;b&gt;covidseg %1&lt;/b&gt;&lt;br&gt;Finds and measures COVID-19 pneumonia in chest CT.&lt;br&gt;Research software, not a medical device.</source>
        <translation>&lt;b&gt;covidseg %1&lt;/b&gt;&lt;br&gt;在胸部 CT 中检测并量化 COVID-19 肺炎。&lt;br&gt;科研软件，非医疗器械。</translation>
    </message>
</context>
<context>
    <name>PreferencesDialog</name>
    <message>
        <location filename="../settings.py" line="125"/>
        <source>Preferences</source>
        <translation>首选项</translation>
    </message>
    <message>
        <location filename="../settings.py" line="130"/>
        <source>shipped models</source>
        <translation>内置模型</translation>
    </message>
    <message>
        <location filename="../settings.py" line="131"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../settings.py" line="136"/>
        <source>Model folder:</source>
        <translation>模型文件夹：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="144"/>
        <source>Device:</source>
        <translation>设备：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="148"/>
        <source>automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../settings.py" line="150"/>
        <source>CPU threads:</source>
        <translation>CPU 线程数：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="155"/>
        <source>Slices per batch:</source>
        <translation>每批层数：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="157"/>
        <source>Also run the mirrored image and average (twice as slow)</source>
        <translation>同时处理镜像图像并取平均（耗时加倍）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="159"/>
        <source>Test-time augmentation:</source>
        <translation>测试时增强：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="167"/>
        <source>Choose a model folder</source>
        <translation>选择模型文件夹</translation>
    </message>
</context>
<context>
    <name>ResultsPanel</name>
    <message>
        <location filename="../results.py" line="20"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../results.py" line="21"/>
        <source>mild</source>
        <translation>轻度</translation>
    </message>
    <message>
        <location filename="../results.py" line="22"/>
        <source>moderate</source>
        <translation>中度</translation>
    </message>
    <message>
        <location filename="../results.py" line="23"/>
        <source>severe</source>
        <translation>重度</translation>
    </message>
    <message>
        <location filename="../results.py" line="42"/>
        <source>Lesion area per slice; click to show that slice</source>
        <translation>每层病灶面积；点击可跳转到该层</translation>
    </message>
    <message>
        <location filename="../results.py" line="93"/>
        <source>no per-slice data</source>
        <translation>无逐层数据</translation>
    </message>
    <message>
        <location filename="../results.py" line="120"/>
        <source>lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../results.py" line="121"/>
        <location filename="../results.py" line="122"/>
        <source>lung</source>
        <translation>肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="138"/>
        <source>slice (inferior → superior), area per slice in %1</source>
        <translation>层面（足侧 → 头侧），每层面积，单位 %1</translation>
    </message>
    <message>
        <location filename="../results.py" line="163"/>
        <source>Lung</source>
        <translation>肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="163"/>
        <source>Lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../results.py" line="164"/>
        <source>GGO</source>
        <translation>磨玻璃影</translation>
    </message>
    <message>
        <location filename="../results.py" line="164"/>
        <source>Consolidation</source>
        <translation>实变</translation>
    </message>
    <message>
        <location filename="../results.py" line="165"/>
        <source>Lesion % of lung</source>
        <translation>病灶占肺 %</translation>
    </message>
    <message>
        <location filename="../results.py" line="165"/>
        <source>GGO % of lung</source>
        <translation>磨玻璃影占肺 %</translation>
    </message>
    <message>
        <location filename="../results.py" line="166"/>
        <source>Consolidation % of lung</source>
        <translation>实变占肺 %</translation>
    </message>
    <message>
        <location filename="../results.py" line="167"/>
        <source>Both lungs</source>
        <translation>双肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="167"/>
        <source>Right</source>
        <translation>右肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="167"/>
        <source>Left</source>
        <translation>左肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="179"/>
        <source>Lesion per slice</source>
        <translation>逐层病灶</translation>
    </message>
    <message>
        <location filename="../results.py" line="184"/>
        <source>Severity</source>
        <translation>严重程度</translation>
    </message>
    <message>
        <location filename="../results.py" line="206"/>
        <source>not segmented</source>
        <translation>未分割</translation>
    </message>
    <message>
        <location filename="../results.py" line="234"/>
        <source>Volumes in mL from the voxel spacing.</source>
        <translation>体积按体素间距计算，单位 mL。</translation>
    </message>
    <message>
        <location filename="../results.py" line="235"/>
        <source>Areas in mm² from the pixel spacing.</source>
        <translation>面积按像素间距计算，单位 mm²。</translation>
    </message>
    <message>
        <location filename="../results.py" line="236"/>
        <source>No pixel spacing is known for this image: areas are pixel counts.</source>
        <translation>该图像没有像素间距信息：面积为像素数。</translation>
    </message>
    <message>
        <location filename="../results.py" line="237"/>
        <source>No voxel spacing is known: volumes are voxel counts.</source>
        <translation>没有体素间距信息：体积为体素数。</translation>
    </message>
    <message>
        <location filename="../results.py" line="243"/>
        <source>no lung found</source>
        <translation>未找到肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="253"/>
        <source>Lesion: %1 of lung</source>
        <translation>病灶：占肺 %1</translation>
    </message>
    <message>
        <location filename="../results.py" line="255"/>
        <source>MosMed grade: %1</source>
        <translation>MosMed 分级：%1</translation>
    </message>
    <message>
        <location filename="../results.py" line="257"/>
        <source>Zone score: %1 / 24</source>
        <translation>分区评分：%1 / 24</translation>
    </message>
</context>
<context>
    <name>ViewerPanel</name>
    <message>
        <location filename="../viewer.py" line="145"/>
        <source>Original. Wheel: slices, Ctrl+wheel: zoom, drag: pan, double-click: fit</source>
        <translation>原图。滚轮：翻层，Ctrl+滚轮：缩放，拖动：平移，双击：适应窗口</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="146"/>
        <source>Segmentation overlay. Wheel: slices, Ctrl+wheel: zoom, drag: pan</source>
        <translation>分割叠加图。滚轮：翻层，Ctrl+滚轮：缩放，拖动：平移</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="148"/>
        <source>Original</source>
        <translation>原图</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="149"/>
        <source>Segmentation</source>
        <translation>分割结果</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="168"/>
        <source>Lung</source>
        <translation>肺窗</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="169"/>
        <source>Mediastinum</source>
        <translation>纵隔窗</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="170"/>
        <source>Custom</source>
        <translation>自定义</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="180"/>
        <source>L</source>
        <translation>窗位</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="181"/>
        <source>W</source>
        <translation>窗宽</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="190"/>
        <source>Window:</source>
        <translation>窗：</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="302"/>
        <source>Slice %1 / %2</source>
        <translation>第 %1 / %2 层</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="364"/>
        <source>(%1, %2)  %3 HU</source>
        <translation>(%1, %2)  %3 HU</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="364"/>
        <source>(%1, %2)  value %3</source>
        <translation>(%1, %2)  值 %3</translation>
    </message>
</context>
</TS>
