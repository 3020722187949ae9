<?xml version='1.0' encoding='utf-8'?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Grades</name>
    <message>
        <location filename="../grades.py" line="31" />
        <source>no lung found</source>
        <translation>未找到肺</translation>
    </message>
    <message>
        <location filename="../grades.py" line="32" />
        <source>no lesion</source>
        <translation>无病灶</translation>
    </message>
    <message>
        <location filename="../grades.py" line="32" />
        <location filename="../grades.py" line="52" />
        <source>mild</source>
        <translation>轻度</translation>
    </message>
    <message>
        <location filename="../grades.py" line="32" />
        <location filename="../grades.py" line="52" />
        <source>moderate</source>
        <translation>中度</translation>
    </message>
    <message>
        <location filename="../grades.py" line="32" />
        <location filename="../grades.py" line="52" />
        <source>severe</source>
        <translation>重度</translation>
    </message>
    <message>
        <location filename="../grades.py" line="33" />
        <source>critical</source>
        <translation>危重</translation>
    </message>
    <message>
        <location filename="../grades.py" line="40" />
        <source>MosMed CT grade (Morozov et al. 2020), from the share of lung involved: CT-0 none, CT-1 &lt; %1, CT-2 %1 – &lt; %2, CT-3 %2 – &lt; %3, CT-4 ≥ %3.</source>
        <translation>MosMed CT 分级（Morozov 等，2020），依据受累肺的比例：CT-0 无，CT-1 &lt; %1，CT-2 %1 – &lt; %2，CT-3 %2 – &lt; %3，CT-4 ≥ %3。</translation>
    </message>
    <message>
        <location filename="../grades.py" line="44" />
        <source>No lung was found, so no share of lung and no grade.</source>
        <translation>未找到肺，因此没有受累比例，也没有分级。</translation>
    </message>
    <message>
        <location filename="../grades.py" line="52" />
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../grades.py" line="53" />
        <source>Lesion/lung ratio grade (covidseg convention: mild &lt; %1, moderate %1 – &lt; %2, severe ≥ %2): %3</source>
        <translation>病灶/肺比例分级（covidseg 约定：轻度 &lt; %1，中度 %1 – &lt; %2，重度 ≥ %2）：%3</translation>
    </message>
    <message>
        <location filename="../grades.py" line="60" />
        <source>Zone score: %1 / 24 (each lung in upper, middle and lower thirds, each zone 0–4 by its share involved)</source>
        <translation>分区评分：%1 / 24（每侧肺按高度分为上、中、下三区，每区按受累比例评 0–4 分）</translation>
    </message>
    <message>
        <location filename="../grades.py" line="67" />
        <source>Lung from Hounsfield-unit thresholds (classical method).</source>
        <translation>肺由 CT 值（HU）阈值分割（经典方法）。</translation>
    </message>
    <message>
        <location filename="../grades.py" line="68" />
        <source>Lung from Hounsfield-unit thresholds, with lesions found next to it added.</source>
        <translation>肺由 CT 值（HU）阈值分割，并加入紧邻肺的病灶。</translation>
    </message>
    <message>
        <location filename="../grades.py" line="69" />
        <source>Lung from Hounsfield-unit thresholds combined with the lung network.</source>
        <translation>肺由 CT 值（HU）阈值分割与肺分割网络合并得到。</translation>
    </message>
    <message>
        <location filename="../grades.py" line="70" />
        <source>Lung from the lung network.</source>
        <translation>肺由肺分割网络得到。</translation>
    </message>
    <message>
        <location filename="../grades.py" line="71" />
        <source>No lung mask.</source>
        <translation>没有肺掩膜。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../app.py" line="145" />
        <source>Open a CT image, a folder of slices, a NIfTI volume or a DICOM series
(File ▸ Open, or drop it here).</source>
        <translation>打开 CT 图像、切片文件夹、NIfTI 体数据或 DICOM 序列
（文件 ▸ 打开，或拖放到此处）。</translation>
    </message>
    <message>
        <location filename="../app.py" line="180" />
        <source>Overlay</source>
        <translation>叠加显示</translation>
    </message>
    <message>
        <location filename="../app.py" line="181" />
        <source>Lung outline</source>
        <translation>肺轮廓</translation>
    </message>
    <message>
        <location filename="../app.py" line="182" />
        <location filename="../app.py" line="654" />
        <source>Ground-glass opacity (GGO)</source>
        <translation>磨玻璃影 (GGO)</translation>
    </message>
    <message>
        <location filename="../app.py" line="183" />
        <location filename="../app.py" line="238" />
        <source>Consolidation</source>
        <translation>实变</translation>
    </message>
    <message>
        <location filename="../app.py" line="198" />
        <source>Opacity</source>
        <translation>不透明度</translation>
    </message>
    <message>
        <location filename="../app.py" line="219" />
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../app.py" line="233" />
        <source>Correct masks</source>
        <translation>修正掩膜</translation>
    </message>
    <message>
        <location filename="../app.py" line="237" />
        <location filename="../app.py" line="648" />
        <source>GGO</source>
        <translation>磨玻璃影</translation>
    </message>
    <message>
        <location filename="../app.py" line="239" />
        <source>Lung</source>
        <translation>肺</translation>
    </message>
    <message>
        <location filename="../app.py" line="245" />
        <source> px</source>
        <translation> 像素</translation>
    </message>
    <message>
        <location filename="../app.py" line="246" />
        <source>Brush diameter in pixels ([ and ] change it)</source>
        <translation>画笔直径（像素；[ 和 ] 调整）</translation>
    </message>
    <message>
        <location filename="../app.py" line="254" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../app.py" line="278" />
        <source>&amp;Open file…</source>
        <translation>打开文件(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="279" />
        <source>Open an image, NIfTI volume or DICOM file</source>
        <translation>打开图像、NIfTI 体数据或 DICOM 文件</translation>
    </message>
    <message>
        <location filename="../app.py" line="280" />
        <source>Open &amp;folder…</source>
        <translation>打开文件夹(&amp;F)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="281" />
        <location filename="../app.py" line="537" />
        <source>Open a DICOM series or a folder of slices</source>
        <translation>打开 DICOM 序列或切片文件夹</translation>
    </message>
    <message>
        <location filename="../app.py" line="282" />
        <source>&amp;Segment</source>
        <translation>分割(&amp;S)</translation>
    </message>
    <message>
        <location filename="../app.py" line="283" />
        <source>Segment lung, lesions and lesion types</source>
        <translation>分割肺、病灶及病灶类型</translation>
    </message>
    <message>
        <location filename="../app.py" line="284" />
        <source>&amp;Cancel</source>
        <translation>取消(&amp;C)</translation>
    </message>
    <message>
        <location filename="../app.py" line="285" />
        <source>Stop the running job</source>
        <translation>停止正在运行的任务</translation>
    </message>
    <message>
        <location filename="../app.py" line="286" />
        <source>&amp;Report (PDF, HTML, JSON, CSV)…</source>
        <translation>报告 (PDF, HTML, JSON, CSV)(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="287" />
        <source>Save the report</source>
        <translation>保存报告</translation>
    </message>
    <message>
        <location filename="../app.py" line="288" />
        <source>Current &amp;view as PNG…</source>
        <translation>当前视图另存为 PNG(&amp;V)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="290" />
        <source>Masks as &amp;PNG…</source>
        <translation>掩膜导出为 PNG(&amp;P)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="291" />
        <source>Masks as &amp;NIfTI…</source>
        <translation>掩膜导出为 NIfTI(&amp;N)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="292" />
        <source>Masks as &amp;DICOM-SEG…</source>
        <translation>掩膜导出为 DICOM-SEG(&amp;D)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="294" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../app.py" line="295" />
        <source>&amp;Preferences…</source>
        <translation>首选项(&amp;P)…</translation>
    </message>
    <message>
        <location filename="../app.py" line="297" />
        <source>&amp;Fit to window</source>
        <translation>适应窗口(&amp;F)</translation>
    </message>
    <message>
        <location filename="../app.py" line="298" />
        <source>Show &amp;original beside the overlay</source>
        <translation>在叠加图旁显示原图(&amp;O)</translation>
    </message>
    <message>
        <location filename="../app.py" line="302" />
        <source>Previous slice</source>
        <translation>上一层</translation>
    </message>
    <message>
        <location filename="../app.py" line="304" />
        <source>Next slice</source>
        <translation>下一层</translation>
    </message>
    <message>
        <location filename="../app.py" line="306" />
        <source>First slice</source>
        <translation>第一层</translation>
    </message>
    <message>
        <location filename="../app.py" line="307" />
        <source>Last slice</source>
        <translation>最后一层</translation>
    </message>
    <message>
        <location filename="../app.py" line="309" />
        <source>Show &amp;overlay</source>
        <translation>显示叠加(&amp;O)</translation>
    </message>
    <message>
        <location filename="../app.py" line="314" />
        <source>&amp;Coronal and sagittal planes</source>
        <translation>冠状面和矢状面(&amp;C)</translation>
    </message>
    <message>
        <location filename="../app.py" line="318" />
        <source>&amp;About covidseg</source>
        <translation>关于 covidseg(&amp;A)</translation>
    </message>
    <message>
        <location filename="../app.py" line="321" />
        <source>&amp;Navigate</source>
        <translation>浏览(&amp;N)</translation>
    </message>
    <message>
        <location filename="../app.py" line="323" />
        <source>Drag pans, click moves the crosshair (N)</source>
        <translation>拖动平移，单击移动十字线 (N)</translation>
    </message>
    <message>
        <location filename="../app.py" line="324" />
        <source>&amp;Brush</source>
        <translation>画笔(&amp;B)</translation>
    </message>
    <message>
        <location filename="../app.py" line="326" />
        <source>Paint the chosen label on the slice (B)</source>
        <translation>在当前层上绘制所选标签 (B)</translation>
    </message>
    <message>
        <location filename="../app.py" line="327" />
        <source>&amp;Eraser</source>
        <translation>橡皮擦(&amp;E)</translation>
    </message>
    <message>
        <location filename="../app.py" line="329" />
        <source>Erase the chosen label from the slice (E)</source>
        <translation>从当前层擦除所选标签 (E)</translation>
    </message>
    <message>
        <location filename="../app.py" line="335" />
        <source>&amp;Undo edit</source>
        <translation>撤销编辑(&amp;U)</translation>
    </message>
    <message>
        <location filename="../app.py" line="336" />
        <source>&amp;Redo edit</source>
        <translation>重做编辑(&amp;R)</translation>
    </message>
    <message>
        <location filename="../app.py" line="337" />
        <source>Smaller brush</source>
        <translation>缩小画笔</translation>
    </message>
    <message>
        <location filename="../app.py" line="338" />
        <source>Larger brush</source>
        <translation>放大画笔</translation>
    </message>
    <message>
        <location filename="../app.py" line="352" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../app.py" line="355" />
        <source>Open &amp;recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <location filename="../app.py" line="358" />
        <source>&amp;Export</source>
        <translation>导出(&amp;E)</translation>
    </message>
    <message>
        <location filename="../app.py" line="366" />
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <location filename="../app.py" line="371" />
        <source>&amp;Results panel</source>
        <translation>结果面板(&amp;R)</translation>
    </message>
    <message>
        <location filename="../app.py" line="374" />
        <source>&amp;Window preset</source>
        <translation>窗宽窗位预设(&amp;W)</translation>
    </message>
    <message>
        <location filename="../app.py" line="375" />
        <source>Lung (L -600, W 1500)</source>
        <translation>肺窗 (L -600, W 1500)</translation>
    </message>
    <message>
        <location filename="../app.py" line="376" />
        <source>Mediastinum (L 40, W 400)</source>
        <translation>纵隔窗 (L 40, W 400)</translation>
    </message>
    <message>
        <location filename="../app.py" line="383" />
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <location filename="../app.py" line="388" />
        <source>&amp;Segmentation</source>
        <translation>分割(&amp;S)</translation>
    </message>
    <message>
        <location filename="../app.py" line="392" />
        <source>Se&amp;ttings</source>
        <translation>设置(&amp;T)</translation>
    </message>
    <message>
        <location filename="../app.py" line="394" />
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <location filename="../app.py" line="397" />
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../app.py" line="405" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../app.py" line="408" />
        <source>Main</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <location filename="../app.py" line="467" />
        <source>Please wait: another task is running (or cancel it).</source>
        <translation>请稍候：另一个任务正在运行（或将其取消）。</translation>
    </message>
    <message>
        <location filename="../app.py" line="501" />
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
    <message>
        <location filename="../app.py" line="516" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../app.py" line="531" />
        <source>Open CT image</source>
        <translation>打开 CT 图像</translation>
    </message>
    <message>
        <location filename="../app.py" line="559" />
        <source>Reading %1</source>
        <translation>正在读取 %1</translation>
    </message>
    <message>
        <location filename="../app.py" line="581" />
        <source>Hounsfield units</source>
        <translation>亨氏单位 (HU)</translation>
    </message>
    <message>
        <location filename="../app.py" line="581" />
        <source>grey levels</source>
        <translation>灰度值</translation>
    </message>
    <message>
        <location filename="../app.py" line="582" />
        <source>Opened %1 (%2, %3, %4)</source>
        <translation>已打开 %1（%2，%3，%4）</translation>
    </message>
    <message>
        <location filename="../app.py" line="588" />
        <source>Choose a series</source>
        <translation>选择序列</translation>
    </message>
    <message>
        <location filename="../app.py" line="589" />
        <source>This folder holds several CT series. Open:</source>
        <translation>该文件夹包含多个 CT 序列。打开：</translation>
    </message>
    <message>
        <location filename="../app.py" line="610" />
        <source>Open an image first.</source>
        <translation>请先打开图像。</translation>
    </message>
    <message>
        <location filename="../app.py" line="625" />
        <source>Segmenting</source>
        <translation>正在分割</translation>
    </message>
    <message>
        <location filename="../app.py" line="636" />
        <source>Segmented in %1 s</source>
        <translation>分割完成，用时 %1 秒</translation>
    </message>
    <message>
        <location filename="../app.py" line="648" />
        <location filename="../app.py" line="654" />
        <source>Lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../app.py" line="710" />
        <source>Masks as segmented.</source>
        <translation>掩膜为自动分割结果。</translation>
    </message>
    <message>
        <location filename="../app.py" line="712" />
        <source>Edited by hand (edits: %1). Numbers, grades, curve and exports use the edited masks.</source>
        <translation>已手动编辑（%1 次）。数值、分级、曲线和导出均使用编辑后的掩膜。</translation>
    </message>
    <message>
        <location filename="../app.py" line="758" />
        <source>Save report</source>
        <translation>保存报告</translation>
    </message>
    <message>
        <location filename="../app.py" line="764" />
        <source>Save masks into folder</source>
        <translation>将掩膜保存到文件夹</translation>
    </message>
    <message>
        <location filename="../app.py" line="770" />
        <source>Save view</source>
        <translation>保存视图</translation>
    </message>
    <message>
        <location filename="../app.py" line="784" />
        <source>Saving report</source>
        <translation>正在保存报告</translation>
    </message>
    <message>
        <location filename="../app.py" line="793" />
        <source>Saving masks</source>
        <translation>正在保存掩膜</translation>
    </message>
    <message>
        <location filename="../app.py" line="827" />
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <location filename="../app.py" line="847" />
        <source>The language changes the next time covidseg starts.</source>
        <translation>语言将在下次启动 covidseg 时生效。</translation>
    </message>
    <message>
        <location filename="../app.py" line="851" />
        <source>About covidseg</source>
        <translation>关于 covidseg</translation>
    </message>
    <message>
        <location filename="../app.py" line="852" />
        <source>&lt;b&gt;covidseg %1&lt;/b&gt;&lt;br&gt;Finds and measures COVID-19 pneumonia in chest CT.&lt;br&gt;Research software, not a medical device.</source>
        <translation>&lt;b&gt;covidseg %1&lt;/b&gt;&lt;br&gt;在胸部 CT 中检测并量化 COVID-19 肺炎。&lt;br&gt;科研软件，非医疗器械。</translation>
    </message>
</context>
<context>
    <name>PreferencesDialog</name>
    <message>
        <location filename="../settings.py" line="125" />
        <source>Preferences</source>
        <translation>首选项</translation>
    </message>
    <message>
        <location filename="../settings.py" line="130" />
        <source>shipped models</source>
        <translation>内置模型</translation>
    </message>
    <message>
        <location filename="../settings.py" line="131" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../settings.py" line="136" />
        <source>Model folder:</source>
        <translation>模型文件夹：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="144" />
        <source>Device:</source>
        <translation>设备：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="148" />
        <source>automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../settings.py" line="150" />
        <source>CPU threads:</source>
        <translation>CPU 线程数：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="155" />
        <source>Slices per batch:</source>
        <translation>每批层数：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="157" />
        <source>Also run the mirrored image and average (twice as slow)</source>
        <translation>同时处理镜像图像并取平均（耗时加倍）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="159" />
        <source>Test-time augmentation:</source>
        <translation>测试时增强：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="167" />
        <source>Choose a model folder</source>
        <translation>选择模型文件夹</translation>
    </message>
</context>
<context>
    <name>Report</name>
    <message>
        <location filename="../export.py" line="194" />
        <source>Lung</source>
        <extracomment>the report's page: A4 less 15 mm margins is 180 x 267 mm; laid out in CSS pixels (96 per inch)</extracomment>
        <translation>肺</translation>
    </message>
    <message>
        <location filename="../export.py" line="194" />
        <source>Lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../export.py" line="194" />
        <source>GGO</source>
        <translation>磨玻璃影</translation>
    </message>
    <message>
        <location filename="../export.py" line="194" />
        <source>Consolidation</source>
        <translation>实变</translation>
    </message>
    <message>
        <location filename="../export.py" line="195" />
        <source>Lesion % of lung</source>
        <translation>病灶占肺 %</translation>
    </message>
    <message>
        <location filename="../export.py" line="195" />
        <source>GGO % of lung</source>
        <translation>磨玻璃影占肺 %</translation>
    </message>
    <message>
        <location filename="../export.py" line="196" />
        <source>Consolidation % of lung</source>
        <translation>实变占肺 %</translation>
    </message>
    <message>
        <location filename="../export.py" line="218" />
        <source>Both lungs</source>
        <translation>双肺</translation>
    </message>
    <message>
        <location filename="../export.py" line="218" />
        <source>Right</source>
        <translation>右肺</translation>
    </message>
    <message>
        <location filename="../export.py" line="218" />
        <source>Left</source>
        <translation>左肺</translation>
    </message>
    <message>
        <location filename="../export.py" line="229" />
        <source>Lesion: %1 of lung</source>
        <translation>病灶：占肺 %1</translation>
    </message>
    <message>
        <location filename="../export.py" line="232" />
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <location filename="../export.py" line="233" />
        <source>Volumes in mL from the voxel spacing.</source>
        <translation>体积按体素间距计算，单位 mL。</translation>
    </message>
    <message>
        <location filename="../export.py" line="233" />
        <source>Areas in mm² from the pixel spacing.</source>
        <translation>面积按像素间距计算，单位 mm²。</translation>
    </message>
    <message>
        <location filename="../export.py" line="234" />
        <source>No pixel spacing is known for this image: areas are pixel counts.</source>
        <translation>该图像没有像素间距信息：面积为像素数。</translation>
    </message>
    <message>
        <location filename="../export.py" line="235" />
        <source>No voxel spacing is known: volumes are voxel counts.</source>
        <translation>没有体素间距信息：体积为体素数。</translation>
    </message>
    <message>
        <location filename="../export.py" line="237" />
        <source>lung outline</source>
        <translation>肺轮廓</translation>
    </message>
    <message>
        <location filename="../export.py" line="239" />
        <source>ground-glass opacity</source>
        <translation>磨玻璃影</translation>
    </message>
    <message>
        <location filename="../export.py" line="239" />
        <source>consolidation</source>
        <translation>实变</translation>
    </message>
    <message>
        <location filename="../export.py" line="241" />
        <source>lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../export.py" line="244" />
        <source>slice %1 / %2</source>
        <translation>第 %1 / %2 层</translation>
    </message>
    <message>
        <location filename="../export.py" line="246" />
        <source>covidseg report</source>
        <translation>covidseg 报告</translation>
    </message>
    <message>
        <location filename="../export.py" line="247" />
        <source>Input:</source>
        <translation>输入：</translation>
    </message>
    <message>
        <location filename="../export.py" line="248" />
        <source>spacing</source>
        <translation>间距</translation>
    </message>
    <message>
        <location filename="../export.py" line="249" />
        <source>Severity</source>
        <translation>严重程度</translation>
    </message>
    <message>
        <location filename="../export.py" line="250" />
        <source>Other measures (secondary):</source>
        <translation>其他指标（次要）：</translation>
    </message>
    <message>
        <location filename="../export.py" line="251" />
        <source>Lesion per slice</source>
        <translation>逐层病灶</translation>
    </message>
    <message>
        <location filename="../export.py" line="252" />
        <source>models:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <location filename="../export.py" line="264" />
        <source>Masks corrected by hand (edits: %1): the numbers and grades are those of the corrected masks.</source>
        <translation>掩膜已手动修正（%1 次编辑）：数值和分级基于修正后的掩膜。</translation>
    </message>
    <message>
        <location filename="../export.py" line="291" />
        <source>Research software, not a medical device: every result needs a radiologist's review.</source>
        <translation>研究用软件，非医疗器械：所有结果均需放射科医师审核。</translation>
    </message>
</context>
<context>
    <name>ResultsPanel</name>
    <message>
        <location filename="../results.py" line="35" />
        <source>Lesion area per slice; click to show that slice</source>
        <translation>每层病灶面积；点击可跳转到该层</translation>
    </message>
    <message>
        <location filename="../curve.py" line="78" />
        <source>no per-slice data</source>
        <translation>无逐层数据</translation>
    </message>
    <message>
        <location filename="../curve.py" line="112" />
        <source>slice (inferior → superior)</source>
        <translation>层面（下 → 上）</translation>
    </message>
    <message>
        <location filename="../curve.py" line="132" />
        <source>lesion, %1 (left axis)</source>
        <translation>病灶，%1（左轴）</translation>
    </message>
    <message>
        <location filename="../curve.py" line="134" />
        <source>lung, %1 (right axis)</source>
        <translation>肺，%1（右轴）</translation>
    </message>
    <message>
        <location filename="../results.py" line="72" />
        <source>Slice %1: lesion %2 %3</source>
        <translation>第 %1 层：病灶 %2 %3</translation>
    </message>
    <message>
        <location filename="../results.py" line="75" />
        <source> (%1 of the slice's lung, %2 %3)</source>
        <translation>（占该层肺的 %1，肺 %2 %3）</translation>
    </message>
    <message>
        <location filename="../results.py" line="123" />
        <source>Lung</source>
        <translation>肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="123" />
        <source>Lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../results.py" line="124" />
        <source>GGO</source>
        <translation>磨玻璃影</translation>
    </message>
    <message>
        <location filename="../results.py" line="124" />
        <source>Consolidation</source>
        <translation>实变</translation>
    </message>
    <message>
        <location filename="../results.py" line="125" />
        <source>Lesion % of lung</source>
        <translation>病灶占肺 %</translation>
    </message>
    <message>
        <location filename="../results.py" line="125" />
        <source>GGO % of lung</source>
        <translation>磨玻璃影占肺 %</translation>
    </message>
    <message>
        <location filename="../results.py" line="126" />
        <source>Consolidation % of lung</source>
        <translation>实变占肺 %</translation>
    </message>
    <message>
        <location filename="../results.py" line="127" />
        <source>Both lungs</source>
        <translation>双肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="127" />
        <source>Right</source>
        <translation>右肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="127" />
        <source>Left</source>
        <translation>左肺</translation>
    </message>
    <message>
        <location filename="../results.py" line="139" />
        <source>Lesion per slice</source>
        <translation>逐层病灶</translation>
    </message>
    <message>
        <location filename="../results.py" line="144" />
        <source>Severity</source>
        <translation>严重程度</translation>
    </message>
    <message>
        <location filename="../results.py" line="167" />
        <source>not segmented</source>
        <translation>未分割</translation>
    </message>
    <message>
        <location filename="../results.py" line="196" />
        <source>Volumes in mL from the voxel spacing.</source>
        <translation>体积按体素间距计算，单位 mL。</translation>
    </message>
    <message>
        <location filename="../results.py" line="220" />
        <source>Check the lung mask:</source>
        <translation>请检查肺掩膜：</translation>
    </message>
    <message>
        <location filename="../results.py" line="197" />
        <source>Areas in mm² from the pixel spacing.</source>
        <translation>面积按像素间距计算，单位 mm²。</translation>
    </message>
    <message>
        <location filename="../results.py" line="198" />
        <source>No pixel spacing is known for this image: areas are pixel counts.</source>
        <translation>该图像没有像素间距信息：面积为像素数。</translation>
    </message>
    <message>
        <location filename="../results.py" line="199" />
        <source>No voxel spacing is known: volumes are voxel counts.</source>
        <translation>没有体素间距信息：体积为体素数。</translation>
    </message>
    <message>
        <location filename="../results.py" line="202" />
        <source>Masks corrected by hand.</source>
        <translation>掩膜已手动修正。</translation>
    </message>
    <message>
        <location filename="../results.py" line="217" />
        <source>Primary grade: MosMed CT scale (hover for its definition).</source>
        <translation>主要分级：MosMed CT 分级（悬停查看定义）。</translation>
    </message>
    <message>
        <location filename="../results.py" line="210" />
        <source>Lesion: %1 of lung</source>
        <translation>病灶：占肺 %1</translation>
    </message>
</context>
<context>
    <name>ViewerPanel</name>
    <message>
        <location filename="../viewer.py" line="307" />
        <source>Wheel: slices, Ctrl+wheel: zoom, drag: pan, click: crosshair, right-drag: window/level, double-click: fit</source>
        <extracomment>RAS component (nibabel world axes) of each patient direction</extracomment>
        <translation>滚轮：翻层，Ctrl+滚轮：缩放，拖动：平移，单击：十字线，右键拖动：窗宽/窗位，双击：适应窗口</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="309" />
        <source>Original.</source>
        <translation>原图。</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="310" />
        <source>Segmentation overlay.</source>
        <translation>分割叠加。</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="311" />
        <source>Coronal plane.</source>
        <translation>冠状面。</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="312" />
        <source>Sagittal plane.</source>
        <translation>矢状面。</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="315" />
        <source>Original</source>
        <translation>原图</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="316" />
        <source>Segmentation</source>
        <translation>分割结果</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="320" />
        <source>Coronal</source>
        <translation>冠状面</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="321" />
        <source>Sagittal</source>
        <translation>矢状面</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="349" />
        <source>Lung</source>
        <translation>肺窗</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="350" />
        <source>Mediastinum</source>
        <translation>纵隔窗</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="351" />
        <source>Custom</source>
        <translation>自定义</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="361" />
        <source>L</source>
        <translation>窗位</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="362" />
        <source>W</source>
        <translation>窗宽</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="372" />
        <source>Window:</source>
        <translation>窗：</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="540" />
        <source>%1 mm from the first slice</source>
        <translation>距第一层 %1 mm</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="589" />
        <source>Slice %1 / %2</source>
        <translation>第 %1 / %2 层</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="744" />
        <source>GGO</source>
        <translation>磨玻璃影</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="744" />
        <source>consolidation</source>
        <translation>实变</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="744" />
        <source>lesion</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="745" />
        <source>lung</source>
        <translation>肺</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="745" />
        <source>outside the lung</source>
        <translation>肺外</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="760" />
        <source>(%1, %2)  %3 HU</source>
        <translation>(%1, %2)  %3 HU</translation>
    </message>
    <message>
        <location filename="../viewer.py" line="760" />
        <source>(%1, %2)  value %3</source>
        <translation>(%1, %2)  值 %3</translation>
    </message>
</context>
</TS>